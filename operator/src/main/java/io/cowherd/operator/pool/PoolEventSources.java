package io.cowherd.operator.pool;

import io.cowherd.api.LeanItemStore;
import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.operator.liveness.AgentHeartbeats;
import io.cowherd.operator.metrics.CowherdMetrics;
import io.cowherd.operator.placement.NodePicker;
import io.cowherd.operator.status.Conditions;
import io.cowherd.operator.status.PoolConditions;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The secondary event sources of {@link PoolReconciler}, all cluster-wide: clients (their pool), slots (every namespace,
 * for ownership and the target conflict check), pools (every namespace, for the conflict check even
 * when only some namespaces are reconciled), Nodes (placement, node-gone handling) and, when the
 * operator namespace is known, the node agents' heartbeat Leases there (placement: slots go only to
 * nodes with a live agent).
 *
 * <p>Mapping events to pools to reconcile:
 *
 * <ul>
 *   <li>client → the pool it names (assignment, slot MACs);
 *   <li>slot → its own pool, plus every reconciled pool on the slot's shelf or in Conflict (a freed
 *       target may unblock them);
 *   <li>pool (added, deleted, spec changed) → every other reconciled pool on its shelf or in
 *       Conflict;
 *   <li>Node (added, deleted, Ready/unschedulable changed) → every reconciled pool;
 *   <li>agent Lease (any event, renewals included) → every reconciled pool that waits for an
 *       eligible node ({@link PoolConditions#NO_ELIGIBLE_NODE}): an agent that starts or comes back
 *       lets its slots be placed. Pools that place nothing are not woken by renewals.
 * </ul>
 *
 * The reconciler reads these caches whole through {@link PoolObserver}, never per primary, so the
 * primary-to-secondary index is switched off.
 */
public final class PoolEventSources {
  /** Name of the slot informer. */
  public static final String SLOTS = "slots";
  /** Name of the cluster-wide pool informer. */
  public static final String POOLS = "all-pools";
  /** Name of the AoeBootClient informer. */
  public static final String CLIENTS = "clients";
  /** Name of the Node informer. */
  public static final String NODES = "nodes";
  /** Name of the agent Lease informer. */
  public static final String AGENT_LEASES = "agent-leases";

  private PoolEventSources() {}

  /**
   * Builds the event sources for {@code context}.
   *
   * @param agentLeaseNamespace namespace of the node agents' heartbeat Leases; empty: no Lease
   *     informer (every node counts as running an agent)
   * @param heartbeats notes every Lease version the informer delivers (renewals placement counts on)
   * @param clock the operator's clock
   */
  public static List<EventSource<?, AoeBootPool>> create(EventSourceContext<AoeBootPool> context,
      Optional<String> agentLeaseNamespace, AgentHeartbeats heartbeats, Clock clock) {
    IndexerResourceCache<AoeBootPool> reconciled = context.getPrimaryCache();
    var slots = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(AoeBootSlot.class, AoeBootPool.class)
            .withName(SLOTS)
            .withWatchAllNamespaces()
            .withSecondaryToPrimaryMapper(slot -> slotToPools(slot, reconciled))
            .withPrimaryToSecondaryMapper(pool -> Set.of())
            .withItemStore(LeanItemStore.create())
            .build(),
        context);
    var pools = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(AoeBootPool.class, AoeBootPool.class)
            .withName(POOLS)
            .withWatchAllNamespaces()
            .withOnUpdateFilter((now, before) -> !Objects.equals(now.getMetadata().getGeneration(), before.getMetadata().getGeneration())
                || !Objects.equals(now.getMetadata().getDeletionTimestamp(), before.getMetadata().getDeletionTimestamp()))
            .withSecondaryToPrimaryMapper(pool -> poolToOtherPools(pool, reconciled))
            .withPrimaryToSecondaryMapper(pool -> Set.of())
            .withItemStore(LeanItemStore.create())
            .build(),
        context);
    var nodes = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Node.class, AoeBootPool.class)
            .withName(NODES)
            .withWatchAllNamespaces()
            .withOnUpdateFilter(PoolEventSources::placementChanged)
            .withSecondaryToPrimaryMapper(node -> reconciled.list().map(ResourceID::fromResource).collect(Collectors.toSet()))
            .withPrimaryToSecondaryMapper(pool -> Set.of())
            .withItemStore(LeanItemStore.create())
            .build(),
        context);
    var clients = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(AoeBootClient.class, AoeBootPool.class)
            .withName(CLIENTS)
            .withWatchAllNamespaces()
            .withSecondaryToPrimaryMapper(PoolEventSources::clientToPool)
            .withPrimaryToSecondaryMapper(pool -> Set.of())
            .withItemStore(LeanItemStore.create())
            .build(),
        context);
    List<EventSource<?, AoeBootPool>> sources = new ArrayList<>(List.of(slots, pools, nodes, clients));
    agentLeaseNamespace.ifPresent(namespace -> sources.add(new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Lease.class, AoeBootPool.class)
            .withName(AGENT_LEASES)
            .withNamespaces(Set.of(namespace))
            .withLabelSelector(Names.COMPONENT_LABEL + "=" + Names.AGENT_LEASE_COMPONENT)
            // heartbeats see every add and update (renewals) and delete (forgotten) here, not in the
            // mapper: it also runs for deletes, after the delete filter, and would note the Lease again
            .withOnAddFilter(lease -> {
              heartbeats.observe(lease, clock.instant());
              return true;
            })
            .withOnUpdateFilter((lease, old) -> {
              heartbeats.observe(lease, clock.instant());
              return true;
            })
            .withOnDeleteFilter((lease, finalStateUnknown) -> {
              heartbeats.forget(lease);
              return true;
            })
            .withSecondaryToPrimaryMapper(lease -> waitingForANode(reconciled))
            .withPrimaryToSecondaryMapper(pool -> Set.of())
            .withItemStore(LeanItemStore.create())
            .build(),
        context)));
    return List.copyOf(sources);
  }

  /**
   * Registers the pool and slot gauges of {@code metrics} over the caches of {@code sources} (as
   * returned by {@link #create}).
   */
  @SuppressWarnings("unchecked")
  public static void observe(List<EventSource<?, AoeBootPool>> sources, CowherdMetrics metrics) {
    InformerEventSource<AoeBootSlot, AoeBootPool> slots = null;
    InformerEventSource<AoeBootPool, AoeBootPool> pools = null;
    for (EventSource<?, AoeBootPool> source : sources) {
      if (SLOTS.equals(source.name())) {
        slots = (InformerEventSource<AoeBootSlot, AoeBootPool>) source;
      } else if (POOLS.equals(source.name())) {
        pools = (InformerEventSource<AoeBootPool, AoeBootPool>) source;
      }
    }
    var slotCache = Objects.requireNonNull(slots, SLOTS);
    var poolCache = Objects.requireNonNull(pools, POOLS);
    metrics.observe(poolCache::list, slotCache::list, () -> slotCache.isRunning() && poolCache.isRunning());
  }

  /** A client → the pool it names, in its namespace. */
  static Set<ResourceID> clientToPool(AoeBootClient client) {
    return client.getSpec() == null || client.getSpec().getPool() == null ? Set.of()
        : Set.of(new ResourceID(client.getSpec().getPool(), client.getMetadata().getNamespace()));
  }

  static Set<ResourceID> slotToPools(AoeBootSlot slot, IndexerResourceCache<AoeBootPool> reconciled) {
    Set<ResourceID> pools = new HashSet<>();
    if (slot.getSpec() != null && slot.getSpec().getPool() != null) {
      ResourceID owner = new ResourceID(slot.getSpec().getPool(), slot.getMetadata().getNamespace());
      if (reconciled.get(owner).isPresent()) {
        pools.add(owner);
      }
    }
    Integer shelf = slot.getSpec() == null ? null : slot.getSpec().getShelf();
    reconciled.list()
        .filter(p -> sameShelf(p, shelf) || inConflict(p))
        .forEach(p -> pools.add(ResourceID.fromResource(p)));
    return pools;
  }

  static Set<ResourceID> poolToOtherPools(AoeBootPool pool, IndexerResourceCache<AoeBootPool> reconciled) {
    ResourceID self = ResourceID.fromResource(pool);
    Integer shelf = pool.getSpec() == null ? null : pool.getSpec().getShelf();
    return reconciled.list()
        .filter(p -> sameShelf(p, shelf) || inConflict(p))
        .map(ResourceID::fromResource)
        .filter(id -> !id.equals(self))
        .collect(Collectors.toSet());
  }

  /** Reconciled pools with slots not created for want of an eligible node. */
  static Set<ResourceID> waitingForANode(IndexerResourceCache<AoeBootPool> reconciled) {
    return reconciled.list()
        .filter(p -> p.getStatus() != null && Conditions.find(p.getStatus().getConditions(), PoolConditions.PROGRESSING)
            .filter(c -> PoolConditions.NO_ELIGIBLE_NODE.equals(c.getReason())).isPresent())
        .map(ResourceID::fromResource)
        .collect(Collectors.toSet());
  }

  static boolean placementChanged(Node now, Node before) {
    return NodePicker.isReady(now) != NodePicker.isReady(before)
        || !Objects.equals(unschedulable(now), unschedulable(before));
  }

  private static boolean sameShelf(AoeBootPool pool, Integer shelf) {
    return shelf != null && pool.getSpec() != null && shelf.equals(pool.getSpec().getShelf());
  }

  private static boolean inConflict(AoeBootPool pool) {
    return pool.getStatus() != null && Conditions.isTrue(pool.getStatus().getConditions(), PoolConditions.CONFLICT);
  }

  private static Boolean unschedulable(Node node) {
    return node.getSpec() == null ? null : node.getSpec().getUnschedulable();
  }
}
