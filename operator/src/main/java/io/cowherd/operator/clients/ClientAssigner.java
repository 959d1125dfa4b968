package io.cowherd.operator.clients;

import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootClientStatus;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.operator.error.ClientWriteException;
import io.cowherd.operator.error.ClusterReadException;
import io.cowherd.operator.pool.PoolEventRecorder;
import io.cowherd.operator.status.Conditions;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Writes the decisions of {@link ClientAssignment} into each AoeBootClient's status (the operator
 * is the only writer of everything there but {@code status.boot}) and records Events on the pool.
 *
 * <p>Why two simultaneous first boots never get one slot, and one MAC never gets two: the operator
 * is one leader-elected process and JOSDK never reconciles one pool twice at once; before it
 * writes any change it lists the pool's clients directly from the API server (a quorum read, not
 * the informer cache, which may not yet hold its own last write), decides from that, and writes
 * each status with an update carrying the resourceVersion it read, so a status changed in between
 * (for example by an older operator still running after losing its lease) fails with 409 and the
 * reconcile starts over. Agents enrol a MAC under the name {@link Names#clientName}, so a second
 * create of one MAC fails with 409; a user-made second client with that MAC gets {@link
 * ClientAssignment#DUPLICATE_MAC}.
 */
public final class ClientAssigner {
  /** Condition type on a client. */
  public static final String ASSIGNED = "Assigned";
  /** Reason of condition Assigned=False, and of the Warning Event, on a client whose pool was deleted. */
  public static final String POOL_DELETED = "PoolDeleted";

  private final KubernetesClient client;
  private final PoolEventRecorder events;
  private final Clock clock;

  /**
   * @param client for the direct list and status updates
   * @param events Events on the pool (PoolFull, SlotRemoved, DuplicateMac, SlotTaken)
   * @param clock time for assignedAt, conditions and the rate window
   */
  public ClientAssigner(KubernetesClient client, PoolEventRecorder events, Clock clock) {
    this.client = client;
    this.events = events;
    this.clock = clock;
  }

  /**
   * Brings the statuses of {@code pool}'s clients in line with {@link ClientAssignment}.
   *
   * @param cached the pool's clients from the informer cache (decides whether anything is to do)
   * @return the outcome that now holds (the slot MACs the slot specs must carry)
   * @throws ClusterReadException when the direct list fails
   * @throws ClientWriteException when a status update fails (409 included; retried by JOSDK)
   */
  public ClientAssignment.Outcome assign(AoeBootPool pool, List<AoeBootClient> cached) {
    Instant now = clock.instant();
    ClientAssignment.Outcome fromCache = ClientAssignment.decide(pool, cached, now);
    if (fromCache.decisions().stream().allMatch(d -> upToDate(pool, d))) {
      return fromCache;
    }
    List<AoeBootClient> fresh = listDirect(pool);
    ClientAssignment.Outcome outcome = ClientAssignment.decide(pool, fresh, now);
    for (ClientAssignment.Decision d : outcome.decisions()) {
      if (!upToDate(pool, d)) {
        write(pool, d, now);
      }
    }
    return outcome;
  }

  /**
   * Clears the assignment of every client of {@code pool}, which is being deleted: {@code
   * status.slot}, {@code target} and {@code assignedAt} go, condition Assigned turns False with
   * reason {@value #POOL_DELETED}, and a client that held a slot gets a Warning Event {@value
   * #POOL_DELETED} naming it. The client objects stay (they are the user's, or the agents'
   * enrolment records); {@code status.mac} and the agents' {@code status.boot} are kept. Clients
   * already cleared are not written again, so the pool's cleanup may call this on every pass.
   *
   * @throws ClusterReadException when the direct list fails
   * @throws ClientWriteException when a status update fails (409 included; retried by JOSDK)
   */
  public void release(AoeBootPool pool) {
    Instant now = clock.instant();
    String poolName = pool.getMetadata().getNamespace() + "/" + pool.getMetadata().getName();
    for (AoeBootClient c : listDirect(pool)) {
      AoeBootClientStatus before = c.getStatus() == null ? new AoeBootClientStatus() : c.getStatus();
      boolean released = before.getSlot() == null && before.getTarget() == null
          && Conditions.find(before.getConditions(), ASSIGNED).map(x -> POOL_DELETED.equals(x.getReason())).orElse(false);
      if (released) {
        continue;
      }
      String message = before.getSlot() == null
          ? "pool " + poolName + " was deleted"
          : "pool " + poolName + " was deleted: slot " + before.getSlot() + " (target " + before.getTarget()
              + ") released; its COW store follows the pool's reclaim policy";
      AoeBootClientStatus s = new AoeBootClientStatus();
      s.setBoot(before.getBoot());
      s.setObservedGeneration(c.getMetadata().getGeneration());
      s.setMac(before.getMac());
      long generation = c.getMetadata().getGeneration() == null ? 0 : c.getMetadata().getGeneration();
      s.setConditions(Conditions.keepTransitionTimes(before.getConditions(),
          List.of(Conditions.of(ASSIGNED, false, POOL_DELETED, message, generation, now))));
      updateStatus(c, s);
      if (before.getSlot() != null) {
        events.warning(c, POOL_DELETED, "client " + c.getMetadata().getName() + ": " + message);
      }
    }
  }

  /** The pool's clients, straight from the API server. */
  private List<AoeBootClient> listDirect(AoeBootPool pool) {
    String ns = pool.getMetadata().getNamespace();
    try {
      return client.resources(AoeBootClient.class).inNamespace(ns).list().getItems().stream()
          .filter(c -> c.getSpec() != null && pool.getMetadata().getName().equals(c.getSpec().getPool()))
          .toList();
    } catch (KubernetesClientException e) {
      throw new ClusterReadException("list clients of pool " + ns + "/" + pool.getMetadata().getName(), e);
    }
  }

  private boolean upToDate(AoeBootPool pool, ClientAssignment.Decision d) {
    AoeBootClientStatus s = d.client().getStatus();
    if (s == null) {
      return false;
    }
    Optional<Condition> c = Conditions.find(s.getConditions(), ASSIGNED);
    return Objects.equals(s.getSlot(), d.slot())
        && Objects.equals(s.getTarget(), target(pool, d))
        && Objects.equals(s.getMac(), d.mac() == null ? null : d.mac().value())
        && Objects.equals(s.getObservedGeneration(), d.client().getMetadata().getGeneration())
        && c.isPresent() && Objects.equals(c.get().getReason(), d.reason())
        && Objects.equals(c.get().getMessage(), d.message());
  }

  private void write(AoeBootPool pool, ClientAssignment.Decision d, Instant now) {
    AoeBootClient c = d.client();
    AoeBootClientStatus before = c.getStatus() == null ? new AoeBootClientStatus() : c.getStatus();
    AoeBootClientStatus s = new AoeBootClientStatus();
    s.setBoot(before.getBoot()); // the agents' field, unchanged (the update carries the resourceVersion it was read at)
    s.setObservedGeneration(c.getMetadata().getGeneration());
    s.setSlot(d.slot());
    s.setTarget(target(pool, d));
    s.setMac(d.mac() == null ? null : d.mac().value());
    s.setAssignedAt(d.newlyAssigned() ? Conditions.timestamp(now) : d.assigned() ? before.getAssignedAt() : null);
    long generation = c.getMetadata().getGeneration() == null ? 0 : c.getMetadata().getGeneration();
    s.setConditions(Conditions.keepTransitionTimes(before.getConditions(),
        List.of(Conditions.of(ASSIGNED, d.assigned(), d.reason(), d.message(), generation, now))));
    updateStatus(c, s);
    String previous = Conditions.find(before.getConditions(), ASSIGNED).map(Condition::getReason).orElse("");
    if (!previous.equals(d.reason()) && WARNINGS.contains(d.reason())) {
      events.warning(pool, d.reason(), "client " + c.getMetadata().getName() + ": " + d.message());
    } else if (d.newlyAssigned()) {
      events.normal(pool, "ClientAssigned", "client " + c.getMetadata().getName() + " (MAC " + d.mac() + ") "
          + d.message());
    }
  }

  /** Replaces {@code c}'s status with {@code s}, at the resourceVersion {@code c} was read at. */
  private void updateStatus(AoeBootClient c, AoeBootClientStatus s) {
    AoeBootClient update = new AoeBootClient();
    update.setMetadata(c.getMetadata());
    update.setSpec(c.getSpec());
    update.setStatus(s);
    try {
      client.resources(AoeBootClient.class).inNamespace(c.getMetadata().getNamespace()).resource(update).updateStatus();
    } catch (KubernetesClientException e) {
      throw new ClientWriteException(c.getMetadata().getNamespace(), c.getMetadata().getName(), e);
    }
  }

  private static final Set<String> WARNINGS = Set.of(ClientAssignment.POOL_FULL, ClientAssignment.SLOT_REMOVED,
      ClientAssignment.DUPLICATE_MAC, ClientAssignment.SLOT_TAKEN, ClientAssignment.SLOT_OUT_OF_RANGE,
      ClientAssignment.PREFIX_NOT_ALLOWED, ClientAssignment.INVALID_MAC);

  private static String target(AoeBootPool pool, ClientAssignment.Decision d) {
    return d.assigned() ? Names.target(pool.getSpec().getShelf(), d.slot()) : null;
  }

  /** The slot → MAC list each slot spec's {@code allowedMacs} must hold (empty lists when binding is off). */
  public static Map<Integer, List<String>> allowedMacs(AoeBootPool pool, ClientAssignment.Outcome outcome) {
    if (!pool.getSpec().clientsOrDefault().bindingOrDefault()) {
      return Map.of();
    }
    return outcome.macsBySlot().entrySet().stream()
        .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> List.of(e.getValue())));
  }
}
