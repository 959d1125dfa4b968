package io.cowherd.operator.pool;

import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.operator.placement.NodePicker;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What to do with a pool's slot objects. Built by the pure functions {@link #decide} (pool alive)
 * and {@link #teardown} (pool being deleted); carried out by {@link SlotSetExecutor}.
 *
 * @param creates new slot objects, ascending slot number, each already placed on a node
 * @param updates existing slot objects to re-apply with a new spec (same name and node), ascending
 * @param deletes existing slot objects to delete (scale-down or pool deletion), highest slot first
 * @param releases existing slot objects whose Node is gone: delete and clear the agent's finalizer
 * @param terminating existing slot objects already being deleted, waited for
 * @param unplaced slot numbers not created because no Node is eligible, ascending
 * @param heldBack slot numbers neither created nor changed because another pool keeps the target
 */
public record SlotSetPlan(
    List<AoeBootSlot> creates,
    List<AoeBootSlot> updates,
    List<AoeBootSlot> deletes,
    List<AoeBootSlot> releases,
    List<AoeBootSlot> terminating,
    List<Integer> unplaced,
    List<Integer> heldBack) {
  private static final Comparator<AoeBootSlot> HIGHEST_FIRST =
      Comparator.comparing((AoeBootSlot s) -> s.getSpec().getSlot()).reversed();

  /** Copies the lists so the record stays immutable. */
  public SlotSetPlan {
    creates = List.copyOf(creates);
    updates = List.copyOf(updates);
    deletes = List.copyOf(deletes);
    releases = List.copyOf(releases);
    terminating = List.copyOf(terminating);
    unplaced = List.copyOf(unplaced);
    heldBack = List.copyOf(heldBack);
  }

  /** True when nothing is to be written. */
  public boolean isEmpty() {
    return creates.isEmpty() && updates.isEmpty() && deletes.isEmpty() && releases.isEmpty();
  }

  /**
   * Plans the slot set of a live pool: slots {@code 0..replicas-1} exist, each on the node it was
   * first placed on, with the pool's current spec.
   *
   * <ul>
   *   <li>A slot whose Node object is gone is released (it is recreated elsewhere once it is gone).
   *   <li>A slot at or above {@code spec.replicas} is deleted, highest first.
   *   <li>A slot being deleted is waited for; a slot number another pool keeps ({@code blocked}) is
   *       left as it is: not created, not re-targeted, never deleted for it.
   *   <li>An existing slot whose spec differs is updated, keeping its {@code nodeName}.
   *   <li>A missing slot goes to the eligible node with the fewest slots (counting the slots placed
   *       by this plan), or is reported unplaced when no node is eligible.
   * </ul>
   *
   * @param pool the pool (spec and metadata; uid for the owner reference)
   * @param ownSlots the pool's existing slot objects
   * @param existingNodes names of all Node objects
   * @param eligibleNodes names of Nodes that may receive new slots
   * @param slotsPerNode slot objects per node name, all pools and namespaces
   * @param blocked slot numbers whose target another pool keeps
   */
  public static SlotSetPlan decide(
      AoeBootPool pool, Collection<AoeBootSlot> ownSlots, Set<String> existingNodes, Collection<String> eligibleNodes,
      Map<String, Integer> slotsPerNode, Set<Integer> blocked) {
    int replicas = pool.getSpec().replicasOrZero();
    List<AoeBootSlot> creates = new ArrayList<>();
    List<AoeBootSlot> updates = new ArrayList<>();
    List<AoeBootSlot> deletes = new ArrayList<>();
    List<AoeBootSlot> releases = new ArrayList<>();
    List<AoeBootSlot> terminating = new ArrayList<>();
    List<Integer> unplaced = new ArrayList<>();
    List<Integer> heldBack = new ArrayList<>();

    Map<Integer, AoeBootSlot> bySlot = bySlotNumber(pool, ownSlots);
    for (AoeBootSlot slot : bySlot.values()) {
      int number = slot.getSpec().getSlot();
      if (!existingNodes.contains(slot.getSpec().getNodeName())) {
        releases.add(slot);
      } else if (slot.getMetadata().getDeletionTimestamp() != null) {
        terminating.add(slot);
      } else if (number >= replicas) {
        deletes.add(slot);
      } else if (blocked.contains(number)) {
        heldBack.add(number);
      } else {
        AoeBootSlot desired = DesiredSlots.build(pool, number, slot.getSpec().getNodeName());
        if (!DesiredSlots.upToDate(slot, desired)) {
          updates.add(desired);
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
      var node = NodePicker.pick(eligibleNodes, load);
      if (node.isEmpty()) {
        unplaced.add(number);
        continue;
      }
      load.merge(node.get(), 1, Integer::sum);
      creates.add(DesiredSlots.build(pool, number, node.get()));
    }
    deletes.sort(HIGHEST_FIRST);
    heldBack.sort(Comparator.naturalOrder());
    return new SlotSetPlan(creates, updates, deletes, releases, terminating, unplaced, heldBack);
  }

  /**
   * Plans the removal of every slot of a pool being deleted: slots on existing Nodes are deleted
   * (highest first) and left to their node agent's finalizer; slots whose Node is gone are released.
   *
   * @param ownSlots the pool's existing slot objects
   * @param existingNodes names of all Node objects
   */
  public static SlotSetPlan teardown(Collection<AoeBootSlot> ownSlots, Set<String> existingNodes) {
    List<AoeBootSlot> deletes = new ArrayList<>();
    List<AoeBootSlot> releases = new ArrayList<>();
    List<AoeBootSlot> terminating = new ArrayList<>();
    for (AoeBootSlot slot : ownSlots) {
      if (!existingNodes.contains(slot.getSpec().getNodeName())) {
        releases.add(slot);
      } else if (slot.getMetadata().getDeletionTimestamp() != null) {
        terminating.add(slot);
      } else {
        deletes.add(slot);
      }
    }
    deletes.sort(HIGHEST_FIRST);
    return new SlotSetPlan(List.of(), List.of(), deletes, releases, terminating, List.of(), List.of());
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
