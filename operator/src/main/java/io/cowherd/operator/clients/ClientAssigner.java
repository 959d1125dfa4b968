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
    AoeBootClient update = new AoeBootClient();
    update.setMetadata(c.getMetadata());
    update.setSpec(c.getSpec());
    update.setStatus(s);
    try {
      client.resources(AoeBootClient.class).inNamespace(c.getMetadata().getNamespace()).resource(update).updateStatus();
    } catch (KubernetesClientException e) {
      throw new ClientWriteException(c.getMetadata().getNamespace(), c.getMetadata().getName(), e);
    }
    String previous = Conditions.find(before.getConditions(), ASSIGNED).map(Condition::getReason).orElse("");
    if (!previous.equals(d.reason()) && WARNINGS.contains(d.reason())) {
      events.warning(pool, d.reason(), "client " + c.getMetadata().getName() + ": " + d.message());
    } else if (d.newlyAssigned()) {
      events.normal(pool, "ClientAssigned", "client " + c.getMetadata().getName() + " (MAC " + d.mac() + ") "
          + d.message());
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
