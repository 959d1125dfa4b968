package io.cowherd.operator.pool;

import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/** Reads what a pool reconciliation needs from the informer caches of {@link PoolEventSources}. Writes nothing. */
public final class PoolObserver {
  private final Optional<String> agentLeaseNamespace;

  /**
   * @param agentLeaseNamespace namespace of the node agents' heartbeat Leases (the operator's);
   *     empty when unknown: then no Lease is observed
   */
  public PoolObserver(Optional<String> agentLeaseNamespace) {
    this.agentLeaseNamespace = agentLeaseNamespace;
  }

  /** Namespace of the agents' heartbeat Leases, if they are watched (see {@link PoolEventSources#create}). */
  public Optional<String> agentLeaseNamespace() {
    return agentLeaseNamespace;
  }

  /**
   * Observes the cluster for {@code pool}.
   *
   * @param pool the pool being reconciled
   * @param context the JOSDK context whose event sources hold the caches
   * @return slots, pools, Nodes, the pool's clients and agent Leases as cached now
   */
  public PoolObservation observe(AoeBootPool pool, Context<AoeBootPool> context) {
    String namespace = pool.getMetadata().getNamespace();
    String name = pool.getMetadata().getName();
    List<AoeBootSlot> allSlots = cache(context, AoeBootSlot.class, PoolEventSources.SLOTS).list()
        .filter(PoolObserver::hasSpec)
        .toList();
    List<AoeBootSlot> ownSlots = allSlots.stream()
        .filter(s -> namespace.equals(s.getMetadata().getNamespace()) && name.equals(s.getSpec().getPool()))
        .toList();
    List<AoeBootPool> allPools = cache(context, AoeBootPool.class, PoolEventSources.POOLS).list().toList();
    List<Node> nodes = cache(context, Node.class, PoolEventSources.NODES).list().toList();
    List<AoeBootClient> clients = cache(context, AoeBootClient.class, PoolEventSources.CLIENTS).list()
        .filter(c -> namespace.equals(c.getMetadata().getNamespace()) && c.getSpec() != null
            && name.equals(c.getSpec().getPool()))
        .toList();
    Optional<Map<String, Lease>> leases = agentLeaseNamespace.map(ns -> cache(context, Lease.class,
            PoolEventSources.AGENT_LEASES).list()
        .collect(Collectors.toMap(l -> l.getMetadata().getName(), l -> l, (a, b) -> a)));
    return new PoolObservation(ownSlots, allSlots, allPools, nodes, clients, leases);
  }

  /** Slot objects without spec (only possible by hand: the schema requires its fields) are ignored. */
  private static boolean hasSpec(AoeBootSlot slot) {
    return slot.getSpec() != null && slot.getSpec().getPool() != null && slot.getSpec().getShelf() != null
        && slot.getSpec().getSlot() != null && slot.getSpec().getNodeName() != null;
  }

  @SuppressWarnings("unchecked")
  private static <R extends HasMetadata> InformerEventSource<R, AoeBootPool> cache(
      Context<AoeBootPool> context, Class<R> type, String name) {
    EventSource<R, AoeBootPool> source = context.eventSourceRetriever().getEventSourceFor(type, name);
    return (InformerEventSource<R, AoeBootPool>) source;
  }
}
