package io.cowherd.operator.status;

import io.cowherd.api.Names;
import io.cowherd.api.SlotConditions;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootPoolStatus;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Turns what was observed and done into the pool status. Pure: no client, time comes in as {@code
 * now}. Condition reasons are in {@link PoolConditions}.
 */
public final class PoolStatusAggregator {
  private PoolStatusAggregator() {}

  /**
   * Computes the pool status.
   *
   * @param pool the pool (spec, generation, previous status for transition times)
   * @param slots the pool's slot objects as observed at the start of the reconciliation
   * @param readyNodes names of Nodes whose Ready condition is True; a slot on any other node is not
   *     counted as served, whatever its phase says (its agent may be dead)
   * @param progress what the reconciliation did and could not do
   * @param conflictMessage why some targets are kept by other pools; empty when there is no conflict
   * @param now the current time, for {@code lastTransitionTime}
   * @return a new status; conditions Ready, Progressing, Degraded and Conflict, in that order;
   *     placements empty (the pool reconciler fills them in)
   */
  public static AoeBootPoolStatus aggregate(
      AoeBootPool pool, List<AoeBootSlot> slots, Set<String> readyNodes, SlotProgress progress,
      String conflictMessage, Instant now) {
    long generation = generation(pool);
    int desired = pool.getSpec().replicasOrZero();
    List<AoeBootSlot> sorted = slots.stream().sorted(Comparator.comparing(PoolStatusAggregator::slotNumber)).toList();
    int ready = (int) sorted.stream().filter(s -> isServed(s, readyNodes)).count();
    boolean conflict = !conflictMessage.isEmpty();

    List<Condition> conditions = new ArrayList<>();
    conditions.add(ready(desired, sorted.size(), ready, conflict, generation, now));
    conditions.add(progressing(sorted, readyNodes, progress, generation, now));
    conditions.add(degraded(sorted, readyNodes, generation, now));
    conditions.add(conflict
        ? Conditions.of(PoolConditions.CONFLICT, true, PoolConditions.TARGET_CONFLICT, conflictMessage, generation, now)
        : Conditions.of(PoolConditions.CONFLICT, false, PoolConditions.NO_CONFLICT, "no target is kept by another pool", generation, now));

    AoeBootPoolStatus status = new AoeBootPoolStatus();
    status.setObservedGeneration(generation);
    status.setReplicas(sorted.size());
    status.setReadyReplicas(ready);
    status.setUpdatedReplicas((int) sorted.stream().filter(s -> isUpdated(pool, s)).count());
    status.setStaleReplicas((int) sorted.stream().filter(s -> isStale(pool, s)).count());
    status.setSelector(Names.poolSelector(pool.getMetadata().getName()));
    status.setConditions(Conditions.keepTransitionTimes(previousConditions(pool), conditions));
    return status;
  }

  /**
   * The pool's current status with Ready=False and Degraded=True for a failed reconciliation; other
   * fields and conditions are kept.
   *
   * @param reason condition reason, e.g. {@code SlotWriteFailed}
   * @param message what failed, for humans
   */
  public static AoeBootPoolStatus withError(AoeBootPool pool, String reason, String message, Instant now) {
    long generation = generation(pool);
    AoeBootPoolStatus previous = pool.getStatus() == null ? new AoeBootPoolStatus() : pool.getStatus();
    List<Condition> conditions = new ArrayList<>();
    conditions.add(Conditions.of(PoolConditions.READY, false, reason, message, generation, now));
    conditions.add(Conditions.find(previous.getConditions(), PoolConditions.PROGRESSING)
        .orElse(Conditions.of(PoolConditions.PROGRESSING, true, reason, message, generation, now)));
    conditions.add(Conditions.of(PoolConditions.DEGRADED, true, reason, message, generation, now));
    Conditions.find(previous.getConditions(), PoolConditions.CONFLICT).ifPresent(conditions::add);

    AoeBootPoolStatus status = new AoeBootPoolStatus();
    status.setObservedGeneration(generation);
    status.setReplicas(previous.getReplicas() == null ? 0 : previous.getReplicas());
    status.setReadyReplicas(previous.getReadyReplicas() == null ? 0 : previous.getReadyReplicas());
    status.setUpdatedReplicas(previous.getUpdatedReplicas());
    status.setStaleReplicas(previous.getStaleReplicas());
    status.setSelector(Names.poolSelector(pool.getMetadata().getName()));
    status.setConditions(Conditions.keepTransitionTimes(previous.getConditions(), conditions));
    status.setPlacements(previous.getPlacements());
    return status;
  }

  /** True when both statuses are equal in every field, so no write is needed. */
  public static boolean same(AoeBootPoolStatus a, AoeBootPoolStatus b) {
    if (a == null || b == null) {
      return a == b;
    }
    return Objects.equals(a.getObservedGeneration(), b.getObservedGeneration())
        && Objects.equals(a.getReplicas(), b.getReplicas())
        && Objects.equals(a.getReadyReplicas(), b.getReadyReplicas())
        && Objects.equals(a.getUpdatedReplicas(), b.getUpdatedReplicas())
        && Objects.equals(a.getStaleReplicas(), b.getStaleReplicas())
        && Objects.equals(a.getSelector(), b.getSelector())
        && Conditions.same(a.getConditions(), b.getConditions())
        && Objects.equals(a.getPlacements(), b.getPlacements());
  }

  /** True when the slot is built from another image than the pool's ({@code spec.image} differs). */
  public static boolean isStale(AoeBootPool pool, AoeBootSlot slot) {
    return slot.getSpec() != null && !Objects.equals(slot.getSpec().getImage(), pool.getSpec().getImage());
  }

  /**
   * True when the slot's agent reports it serving the pool's image: not stale, phase Serving for
   * the slot's current generation, the origin not reported stale, and the rebuild the operator
   * asked for ({@code spec.rebuild}) done.
   */
  public static boolean isUpdated(AoeBootPool pool, AoeBootSlot slot) {
    if (isStale(pool, slot) || slot.getStatus() == null || slot.getStatus().getOrigin() == null
        || phase(slot) != SlotPhase.Serving
        || !Objects.equals(slot.getStatus().getObservedGeneration(), slot.getMetadata().getGeneration())) {
      return false;
    }
    var origin = slot.getStatus().getOrigin();
    return !Boolean.TRUE.equals(origin.getStale())
        && (slot.getSpec().getRebuild() == null || slot.getSpec().getRebuild().equals(origin.getRebuild()));
  }

  /** True when the slot is served: phase Serving, not being deleted, on a Ready Node. */
  public static boolean isServed(AoeBootSlot slot, Set<String> readyNodes) {
    return phase(slot) == SlotPhase.Serving && !deleting(slot) && readyNodes.contains(slot.getSpec().getNodeName());
  }

  private static Condition ready(int desired, int existing, int ready, boolean conflict, long generation, Instant now) {
    String counts = ready + "/" + desired + " slots served, " + existing + " slot objects";
    if (conflict) {
      return Conditions.of(PoolConditions.READY, false, PoolConditions.TARGET_CONFLICT,
          counts + "; targets kept by other pools (see condition Conflict)", generation, now);
    }
    if (ready == desired && existing == desired) {
      return Conditions.of(PoolConditions.READY, true, PoolConditions.ALL_SLOTS_SERVING, counts, generation, now);
    }
    return Conditions.of(PoolConditions.READY, false, PoolConditions.SLOTS_NOT_SERVING, counts, generation, now);
  }

  private static Condition progressing(
      List<AoeBootSlot> slots, Set<String> readyNodes, SlotProgress progress, long generation, Instant now) {
    if (!progress.unplaced().isEmpty()) {
      String numbers = progress.unplaced().stream().map(String::valueOf).collect(Collectors.joining(", "));
      return Conditions.of(PoolConditions.PROGRESSING, true, PoolConditions.NO_ELIGIBLE_NODE,
          "slots " + numbers + " not created: no eligible node (" + progress.unplacedReason() + ")", generation, now);
    }
    if (progress.changing()) {
      String message = "created " + progress.created() + ", updated " + progress.updated() + ", deleted "
          + progress.deleted() + ", released " + progress.released() + " slots; "
          + progress.terminating() + " slots terminating";
      return Conditions.of(PoolConditions.PROGRESSING, true, PoolConditions.SLOTS_CHANGING, message, generation, now);
    }
    List<String> waiting = slots.stream()
        .filter(s -> !deleting(s) && phase(s) != SlotPhase.Serving && phase(s) != SlotPhase.Failed)
        .filter(s -> readyNodes.contains(s.getSpec().getNodeName()))
        .map(s -> s.getMetadata().getName())
        .toList();
    if (!waiting.isEmpty()) {
      return Conditions.of(PoolConditions.PROGRESSING, true, PoolConditions.SLOTS_PROVISIONING,
          "waiting for the node agent to serve " + String.join(", ", waiting), generation, now);
    }
    return Conditions.of(PoolConditions.PROGRESSING, false, PoolConditions.SLOTS_SETTLED,
        "no slot is being created, changed or deleted", generation, now);
  }

  private static Condition degraded(List<AoeBootSlot> slots, Set<String> readyNodes, long generation, Instant now) {
    List<String> failed = new ArrayList<>();
    List<String> onUnreadyNodes = new ArrayList<>();
    for (AoeBootSlot slot : slots) {
      if (deleting(slot)) {
        continue;
      }
      String label = slot.getMetadata().getName() + " (" + Names.target(slot.getSpec().getShelf(), slotNumber(slot)) + ")";
      if (phase(slot) == SlotPhase.Failed) {
        String why = slot.getStatus().getMessage();
        failed.add(label + ": " + (why == null || why.isBlank() ? "failed" : why));
      } else if (lost(slot)) {
        onUnreadyNodes.add(label + ": node " + slot.getSpec().getNodeName() + " is gone (" + SlotConditions.NODE_LOST
            + "; COW data kept on that node)");
      } else if (!readyNodes.contains(slot.getSpec().getNodeName())) {
        onUnreadyNodes.add(label + ": node " + slot.getSpec().getNodeName() + " is not Ready");
      }
    }
    if (failed.isEmpty() && onUnreadyNodes.isEmpty()) {
      return Conditions.of(PoolConditions.DEGRADED, false, PoolConditions.SLOTS_HEALTHY, "no slot failed", generation, now);
    }
    List<String> all = new ArrayList<>(failed);
    all.addAll(onUnreadyNodes);
    String reason = failed.isEmpty() ? PoolConditions.NODE_NOT_READY : PoolConditions.SLOT_FAILED;
    return Conditions.of(PoolConditions.DEGRADED, true, reason, String.join("; ", all), generation, now);
  }

  private static boolean lost(AoeBootSlot slot) {
    return slot.getStatus() != null && Conditions.find(slot.getStatus().getConditions() == null ? List.of()
        : slot.getStatus().getConditions(), SlotConditions.NODE_AVAILABLE).filter(c -> "False".equals(c.getStatus())).isPresent();
  }

  private static List<Condition> previousConditions(AoeBootPool pool) {
    return pool.getStatus() == null ? List.of() : pool.getStatus().getConditions();
  }

  private static long generation(AoeBootPool pool) {
    Long generation = pool.getMetadata().getGeneration();
    return generation == null ? 0L : generation;
  }

  private static SlotPhase phase(AoeBootSlot slot) {
    return slot.getStatus() == null ? null : slot.getStatus().getPhase();
  }

  private static boolean deleting(AoeBootSlot slot) {
    return slot.getMetadata().getDeletionTimestamp() != null;
  }

  private static int slotNumber(AoeBootSlot slot) {
    Integer number = slot.getSpec().getSlot();
    return number == null ? -1 : number;
  }
}
