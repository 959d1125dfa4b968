package io.cowherd.operator.pool;

import io.cowherd.api.Names;
import io.cowherd.api.SlotReclaim;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.ReclaimPolicy;
import io.cowherd.api.v1alpha1.SlotPlacement;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The pool's memory of where each slot's COW data lives ({@code status.placements}), so a slot
 * object that disappears (deleted by hand, lost with its Node) is recreated on the node that holds
 * its data, also after an operator restart. Pure.
 *
 * <p>An entry is kept while the slot's data may exist: while a slot object exists, while the slot
 * number is wanted, and after a scale-down under {@link ReclaimPolicy#Retain}. It is dropped when a
 * slot scaled away under {@link ReclaimPolicy#Delete} is gone, and when the user abandoned a lost
 * slot's data.
 *
 * <p>An entry also remembers the UID of the last slot object of its number whose data the user
 * abandoned ({@link SlotPlacement#getAbandonedSlotUid()}): a released slot leaves an entry with
 * that UID and no node, so the slot is recreated on an eligible node and carries {@link
 * SlotReclaim#ABANDONED_STORE_ANNOTATION} (also after an operator restart). The UID stays while the
 * entry does; it is harmless once the new slot serves its own store.
 */
public final class Placements {
  private Placements() {}

  /** The recorded placements of {@code pool}: slot number to node name. */
  public static Map<Integer, String> recorded(AoeBootPool pool) {
    return recorded(pool.getStatus() == null || pool.getStatus().getPlacements() == null
        ? List.of() : pool.getStatus().getPlacements());
  }

  /** The placements in {@code placements}: slot number to node name. */
  public static Map<Integer, String> recorded(List<SlotPlacement> placements) {
    return placements.stream()
        .filter(p -> p.getSlot() != null && p.getNodeName() != null)
        .collect(Collectors.toMap(SlotPlacement::getSlot, SlotPlacement::getNodeName, (a, b) -> a, TreeMap::new));
  }

  /** The UID of the abandoned slot object recorded per slot number of {@code pool}. */
  public static Map<Integer, String> abandoned(AoeBootPool pool) {
    return abandoned(pool.getStatus() == null || pool.getStatus().getPlacements() == null
        ? List.of() : pool.getStatus().getPlacements());
  }

  /** The UID of the abandoned slot object per slot number in {@code placements}. */
  public static Map<Integer, String> abandoned(List<SlotPlacement> placements) {
    return placements.stream()
        .filter(p -> p.getSlot() != null && p.getAbandonedSlotUid() != null)
        .collect(Collectors.toMap(SlotPlacement::getSlot, SlotPlacement::getAbandonedSlotUid, (a, b) -> a, TreeMap::new));
  }

  /**
   * The placements to record after {@code plan} was applied.
   *
   * @param pool the pool (replicas, reclaim policy)
   * @param recorded placements recorded so far
   * @param ownSlots the pool's slot objects as observed
   * @param plan what this reconciliation did
   * @return ascending by slot number
   */
  public static List<SlotPlacement> next(AoeBootPool pool, Map<Integer, String> recorded,
      Collection<AoeBootSlot> ownSlots, SlotSetPlan plan) {
    return next(pool, recorded, abandoned(pool), ownSlots, plan);
  }

  /**
   * The placements to record after {@code plan} was applied, from {@code recorded} and {@code
   * abandonedSoFar} (slot number to abandoned slot object UID) as this reconciliation started.
   */
  public static List<SlotPlacement> next(AoeBootPool pool, Map<Integer, String> recorded,
      Map<Integer, String> abandonedSoFar, Collection<AoeBootSlot> ownSlots, SlotSetPlan plan) {
    return next(pool, recorded, abandonedSoFar, byNumber(pool.getStatus() == null
        || pool.getStatus().getPlacements() == null ? List.of() : pool.getStatus().getPlacements()), ownSlots, plan);
  }

  /** The entries of {@code placements} by slot number. */
  public static Map<Integer, SlotPlacement> byNumber(List<SlotPlacement> placements) {
    return placements.stream().filter(p -> p.getSlot() != null)
        .collect(Collectors.toMap(SlotPlacement::getSlot, p -> p, (a, b) -> a, TreeMap::new));
  }

  /**
   * {@link #next(AoeBootPool, Map, Map, Collection, SlotSetPlan)}, where each entry with a node also
   * keeps the image and rebuild token its data was built for: from the slot object when it exists,
   * else from the slot just created, else from {@code previous}.
   */
  public static List<SlotPlacement> next(AoeBootPool pool, Map<Integer, String> recorded,
      Map<Integer, String> abandonedSoFar, Map<Integer, SlotPlacement> previous, Collection<AoeBootSlot> ownSlots,
      SlotSetPlan plan) {
    Map<Integer, String[]> origins = new TreeMap<>();
    previous.forEach((n, p) -> origins.put(n, new String[] {p.getImage(), p.getRebuild()}));
    Map<Integer, String> next = new TreeMap<>(recorded);
    Set<Integer> released = plan.releases().stream().map(s -> s.getSpec().getSlot()).collect(Collectors.toSet());
    Set<Integer> existing = ownSlots.stream().map(s -> s.getSpec().getSlot()).collect(Collectors.toSet());
    for (AoeBootSlot slot : ownSlots) {
      boolean canonical = slot.getMetadata().getName().equals(Names.slotName(pool.getMetadata().getName(), slot.getSpec().getSlot()));
      if (canonical && !released.contains(slot.getSpec().getSlot())) {
        next.put(slot.getSpec().getSlot(), slot.getSpec().getNodeName()); // the object is the truth
        origins.put(slot.getSpec().getSlot(), new String[] {slot.getSpec().getImage(), slot.getSpec().getRebuild()});
      }
    }
    for (AoeBootSlot slot : plan.creates()) {
      next.put(slot.getSpec().getSlot(), slot.getSpec().getNodeName());
      origins.put(slot.getSpec().getSlot(), new String[] {slot.getSpec().getImage(), slot.getSpec().getRebuild()});
    }
    next.keySet().removeAll(released);
    Map<Integer, String> abandoned = new TreeMap<>(abandonedSoFar);
    for (AoeBootSlot slot : plan.releases()) {
      abandoned.put(slot.getSpec().getSlot(), slot.getMetadata().getUid());
    }
    int replicas = pool.getSpec().replicasOrZero();
    if (pool.getSpec().reclaimPolicyOrDefault() == ReclaimPolicy.Delete) {
      next.keySet().removeIf(number -> number >= replicas && !existing.contains(number));
      abandoned.keySet().removeIf(number -> number >= replicas && !existing.contains(number));
    }
    Set<Integer> numbers = new TreeSet<>(next.keySet());
    numbers.addAll(abandoned.keySet());
    return numbers.stream().map(n -> {
      SlotPlacement p = new SlotPlacement(n, next.get(n), abandoned.get(n));
      String[] origin = origins.get(n);
      if (p.getNodeName() != null && origin != null) {
        p.setImage(origin[0]);
        p.setRebuild(origin[1]);
      }
      return p;
    }).toList();
  }
}
