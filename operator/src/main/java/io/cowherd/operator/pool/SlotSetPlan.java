package io.cowherd.operator.pool;

import io.cowherd.api.Names;
import io.cowherd.api.SlotConditions;
import io.cowherd.api.SlotReclaim;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.ReclaimPolicy;
import io.cowherd.operator.placement.NodePicker;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * What to do with a pool's slot objects. Built by the pure functions {@link #decide} (pool alive)
 * and {@link #teardown} (pool being deleted); carried out by {@link SlotSetExecutor}.
 *
 * <p>A slot object is only ever deleted with the reclaim mark ({@link SlotReclaim}) the node agent
 * needs before it removes data: {@code deletes} carry the pool's {@code spec.reclaimPolicy}.
 *
 * @param creates new slot objects, ascending slot number, each already placed on a node (the node
 *     recorded in pool status when the slot had one: its COW data lives there) and carrying the
 *     node agent's finalizer ({@link DesiredSlots#asNew})
 * @param updates existing slot objects to re-apply with a new spec (same name and node), ascending
 * @param deletes existing slot objects to mark with {@code policy} and delete (scale-down or pool
 *     deletion), highest slot first; slots already being deleted are only marked
 * @param releases slot objects whose Node is gone and whose data the user gave up (pool deletion,
 *     or {@link SlotReclaim#ABANDON_ANNOTATION}): delete and clear the agent's finalizer
 * @param lost slot objects whose Node is gone and which are kept (condition NodeLost, Event)
 * @param found slot objects reported lost before whose Node exists again (condition NodeFound)
 * @param unmarks live, wanted slot objects that still carry a reclaim mark (left by an interrupted
 *     deletion): the mark is removed so a later deletion by hand cannot remove data
 * @param terminating existing slot objects already being deleted, waited for
 * @param unplaced slot numbers not created because no Node is eligible, ascending
 * @param heldBack slot numbers neither created nor changed because another pool keeps the target
 * @param policy the reclaim policy {@code deletes} are marked with
 */
public record SlotSetPlan(
    List<AoeBootSlot> creates,
    List<AoeBootSlot> updates,
    List<AoeBootSlot> deletes,
    List<AoeBootSlot> releases,
    List<AoeBootSlot> lost,
    List<AoeBootSlot> found,
    List<AoeBootSlot> unmarks,
    List<AoeBootSlot> terminating,
    List<Integer> unplaced,
    List<Integer> heldBack,
    ReclaimPolicy policy) {
  private static final Comparator<AoeBootSlot> HIGHEST_FIRST =
      Comparator.comparing((AoeBootSlot s) -> s.getSpec().getSlot()).reversed();

  /** Copies the lists so the record stays immutable. */
  public SlotSetPlan {
    creates = List.copyOf(creates);
    updates = List.copyOf(updates);
    deletes = List.copyOf(deletes);
    releases = List.copyOf(releases);
    lost = List.copyOf(lost);
    found = List.copyOf(found);
    unmarks = List.copyOf(unmarks);
    terminating = List.copyOf(terminating);
    unplaced = List.copyOf(unplaced);
    heldBack = List.copyOf(heldBack);
  }

  /** True when no slot object is to be written. */
  public boolean isEmpty() {
    return creates.isEmpty() && updates.isEmpty() && deletes.isEmpty() && releases.isEmpty() && unmarks.isEmpty();
  }

  /** {@link #decide(AoeBootPool, Collection, Set, Collection, Map, Set, Map)} with no recorded placement. */
  public static SlotSetPlan decide(
      AoeBootPool pool, Collection<AoeBootSlot> ownSlots, Set<String> existingNodes, Collection<String> eligibleNodes,
      Map<String, Integer> slotsPerNode, Set<Integer> blocked) {
    return decide(pool, ownSlots, existingNodes, eligibleNodes, slotsPerNode, blocked, Map.of());
  }

  /**
   * Plans the slot set of a live pool: slots {@code 0..replicas-1} exist, each on the node it was
   * first placed on, with the pool's current spec.
   *
   * <ul>
   *   <li>A slot whose Node object is gone is kept and reported lost; it is released (deleted,
   *       finalizer cleared, then recreated on an eligible node with an empty COW store) only when
   *       the user set {@link SlotReclaim#ABANDON_ANNOTATION} on it; the recreated slot carries
   *       {@link SlotReclaim#ABANDONED_STORE_ANNOTATION} (see {@code abandoned}).
   *   <li>A slot at or above {@code spec.replicas} is marked with the reclaim policy and deleted,
   *       highest first.
   *   <li>A slot being deleted is waited for; a slot number another pool keeps ({@code blocked}) is
   *       left as it is: not created, not re-targeted, never deleted for it.
   *   <li>An existing slot whose spec differs is updated, keeping its {@code nodeName}.
   *   <li>A missing slot goes to the node in {@code placements} (whether that node exists, is
   *       Ready or not: its COW data is there), else to the eligible node with the fewest slots
   *       (counting the slots placed by this plan), or is reported unplaced when no node is eligible.
   * </ul>
   *
   * @param pool the pool (spec and metadata; uid for the owner reference)
   * @param ownSlots the pool's existing slot objects
   * @param existingNodes names of all Node objects
   * @param eligibleNodes names of Nodes that may receive new slots
   * @param slotsPerNode slot objects per node name, all pools and namespaces
   * @param blocked slot numbers whose target another pool keeps
   * @param placements node of each slot number whose COW data may exist (from pool status)
   */
  public static SlotSetPlan decide(
      AoeBootPool pool, Collection<AoeBootSlot> ownSlots, Set<String> existingNodes, Collection<String> eligibleNodes,
      Map<String, Integer> slotsPerNode, Set<Integer> blocked, Map<Integer, String> placements) {
    return decide(pool, ownSlots, existingNodes, eligibleNodes, slotsPerNode, blocked, placements, Map.of());
  }

  /**
   * {@link #decide(AoeBootPool, Collection, Set, Collection, Map, Set, Map)}, where each slot created
   * for a number in {@code abandoned} carries {@link SlotReclaim#abandonment} with the UID of the
   * slot object whose data the user abandoned (from pool status, {@link Placements#abandoned}): its
   * node agent then moves that object's COW store aside instead of adopting it.
   *
   * @param abandoned UID of the abandoned slot object per slot number
   */
  public static SlotSetPlan decide(
      AoeBootPool pool, Collection<AoeBootSlot> ownSlots, Set<String> existingNodes, Collection<String> eligibleNodes,
      Map<String, Integer> slotsPerNode, Set<Integer> blocked, Map<Integer, String> placements,
      Map<Integer, String> abandoned) {
    return decide(pool, ownSlots, existingNodes, eligibleNodes, slotsPerNode, blocked, placements, abandoned, Map.of());
  }

  /**
   * {@link #decide(AoeBootPool, Collection, Set, Collection, Map, Set, Map, Map)}, where each slot
   * spec carries the client MACs its exporter serves ({@code spec.allowedMacs}, from {@code
   * io.cowherd.operator.clients.ClientAssigner#allowedMacs}); a slot number without an entry serves
   * any host.
   *
   * @param allowedMacs client MACs per slot number
   */
  public static SlotSetPlan decide(
      AoeBootPool pool, Collection<AoeBootSlot> ownSlots, Set<String> existingNodes, Collection<String> eligibleNodes,
      Map<String, Integer> slotsPerNode, Set<Integer> blocked, Map<Integer, String> placements,
      Map<Integer, String> abandoned, Map<Integer, List<String>> allowedMacs) {
    return decide(pool, ownSlots, existingNodes, eligibleNodes, slotsPerNode, blocked, placements, abandoned,
        allowedMacs, OriginRollout.Clients.none());
  }

  /**
   * {@link #decide(AoeBootPool, Collection, Set, Collection, Map, Set, Map, Map, Map)}, where an
   * existing slot keeps the image it was built from unless {@link OriginRollout} moves it.
   *
   * @param clients the slots' clients (reboot requests, I/O seen) and the time to judge them at
   */
  public static SlotSetPlan decide(
      AoeBootPool pool, Collection<AoeBootSlot> ownSlots, Set<String> existingNodes, Collection<String> eligibleNodes,
      Map<String, Integer> slotsPerNode, Set<Integer> blocked, Map<Integer, String> placements,
      Map<Integer, String> abandoned, Map<Integer, List<String>> allowedMacs, OriginRollout.Clients clients) {
    int replicas = pool.getSpec().replicasOrZero();
    List<AoeBootSlot> creates = new ArrayList<>();
    List<AoeBootSlot> updates = new ArrayList<>();
    List<AoeBootSlot> deletes = new ArrayList<>();
    List<AoeBootSlot> releases = new ArrayList<>();
    List<AoeBootSlot> lost = new ArrayList<>();
    List<AoeBootSlot> found = new ArrayList<>();
    List<AoeBootSlot> unmarks = new ArrayList<>();
    List<AoeBootSlot> terminating = new ArrayList<>();
    List<Integer> unplaced = new ArrayList<>();
    List<Integer> heldBack = new ArrayList<>();

    Map<Integer, AoeBootSlot> bySlot = bySlotNumber(pool, ownSlots);
    Map<Integer, OriginRollout.Move> paced = OriginRollout.paced(pool, bySlot.values(), clients);
    for (AoeBootSlot slot : bySlot.values()) {
      int number = slot.getSpec().getSlot();
      boolean nodeGone = !existingNodes.contains(slot.getSpec().getNodeName());
      if (nodeGone && SlotReclaim.abandoned(slot)) {
        releases.add(slot);
        continue;
      }
      if (nodeGone) {
        lost.add(slot);
      } else if (reportedLost(slot)) {
        found.add(slot);
      }
      if (slot.getMetadata().getDeletionTimestamp() != null) {
        terminating.add(slot);
        if (number >= replicas && !SlotReclaim.isMarked(slot)) {
          deletes.add(slot); // deleted by hand while scaled away: reclaim it as a scale-down would
        }
      } else if (number >= replicas) {
        deletes.add(slot);
      } else if (blocked.contains(number)) {
        heldBack.add(number);
      } else {
        AoeBootSlot desired = DesiredSlots.build(pool, number, slot.getSpec().getNodeName(),
            allowedMacs.getOrDefault(number, List.of()));
        OriginRollout.apply(pool, slot, desired, clients.of(number), clients.now(),
            Optional.ofNullable(paced.get(number)));
        SlotCaptures.apply(slot, desired, clients.of(number), clients.now());
        if (!DesiredSlots.upToDate(slot, desired)) {
          updates.add(desired);
        }
        if (SlotReclaim.isMarked(slot)) {
          unmarks.add(slot);
        }
      }
    }

    Map<String, Integer> load = new HashMap<>(slotsPerNode);
    for (int number = 0; number < replicas; number++) {
      if (bySlot.containsKey(number)) {
        continue;
      }
      if (blocked.contains(number)) {
        heldBack.add(number);
        continue;
      }
      Optional<String> node = Optional.ofNullable(placements.get(number));
      if (node.isEmpty()) {
        node = NodePicker.pick(eligibleNodes, load);
      }
      if (node.isEmpty()) {
        unplaced.add(number);
        continue;
      }
      load.merge(node.get(), 1, Integer::sum);
      AoeBootSlot desired = DesiredSlots.build(pool, number, node.get(), allowedMacs.getOrDefault(number, List.of()));
      String abandonedUid = abandoned.get(number);
      if (abandonedUid != null) {
        Map<String, String> annotations = new HashMap<>();
        if (desired.getMetadata().getAnnotations() != null) {
          annotations.putAll(desired.getMetadata().getAnnotations());
        }
        annotations.putAll(SlotReclaim.abandonment(abandonedUid));
        desired.getMetadata().setAnnotations(annotations);
      }
      creates.add(DesiredSlots.asNew(desired));
    }
    deletes.sort(HIGHEST_FIRST);
    heldBack.sort(Comparator.naturalOrder());
    return new SlotSetPlan(creates, updates, deletes, releases, lost, found, unmarks, terminating, unplaced, heldBack,
        pool.getSpec().reclaimPolicyOrDefault());
  }

  /**
   * Plans the removal of every slot of a pool being deleted: every slot is marked with the pool's
   * reclaim policy and deleted (highest first) and left to its node agent's finalizer; slots whose
   * Node is gone are released (their agent cannot act; the pool deletion is the user's word).
   *
   * @param pool the pool being deleted (its reclaim policy)
   * @param ownSlots the pool's existing slot objects
   * @param existingNodes names of all Node objects
   */
  public static SlotSetPlan teardown(AoeBootPool pool, Collection<AoeBootSlot> ownSlots, Set<String> existingNodes) {
    ReclaimPolicy policy = pool.getSpec() == null ? ReclaimPolicy.Delete : pool.getSpec().reclaimPolicyOrDefault();
    List<AoeBootSlot> deletes = new ArrayList<>();
    List<AoeBootSlot> releases = new ArrayList<>();
    List<AoeBootSlot> terminating = new ArrayList<>();
    for (AoeBootSlot slot : ownSlots) {
      if (!existingNodes.contains(slot.getSpec().getNodeName())) {
        releases.add(slot);
        continue;
      }
      if (slot.getMetadata().getDeletionTimestamp() != null) {
        terminating.add(slot);
      }
      if (slot.getMetadata().getDeletionTimestamp() == null || SlotReclaim.markOf(slot).filter(policy::equals).isEmpty()) {
        deletes.add(slot);
      }
    }
    deletes.sort(HIGHEST_FIRST);
    return new SlotSetPlan(List.of(), List.of(), deletes, releases, List.of(), List.of(), List.of(), terminating,
        List.of(), List.of(), policy);
  }

  /** True when the operator reported {@code slot}'s Node lost (condition NodeAvailable=False). */
  static boolean reportedLost(AoeBootSlot slot) {
    return slot.getStatus() != null && slot.getStatus().getConditions() != null
        && slot.getStatus().getConditions().stream()
            .anyMatch(c -> SlotConditions.NODE_AVAILABLE.equals(c.getType()) && "False".equals(c.getStatus()));
  }

  /**
   * Own slots keyed by slot number. When two objects claim one number (only by hand), the one named
   * {@code <pool>-<slot>} is taken, else the first by name; the other is left alone.
   */
  private static Map<Integer, AoeBootSlot> bySlotNumber(AoeBootPool pool, Collection<AoeBootSlot> ownSlots) {
    Map<Integer, AoeBootSlot> bySlot = new TreeMap<>();
    ownSlots.stream()
        .filter(s -> s.getSpec() != null && s.getSpec().getSlot() != null)
        .sorted(Comparator.comparing((AoeBootSlot s) -> !isCanonical(pool, s)).thenComparing(s -> s.getMetadata().getName()))
        .forEach(s -> bySlot.putIfAbsent(s.getSpec().getSlot(), s));
    return bySlot;
  }

  private static boolean isCanonical(AoeBootPool pool, AoeBootSlot slot) {
    return slot.getMetadata().getName().equals(Names.slotName(pool.getMetadata().getName(), slot.getSpec().getSlot()));
  }
}
