package io.cowherd.operator.pool;

import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.operator.placement.NodePicker;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What one reconciliation of a pool sees, read from the informer caches (cluster-wide).
 *
 * @param ownSlots slot objects of the pool ({@code spec.pool} and namespace match), any state
 * @param allSlots slot objects of every pool in every namespace, including {@code ownSlots}
 * @param allPools pools in every namespace, including the reconciled one
 * @param nodes every Node object
 * @param clients AoeBootClients naming the pool (same namespace)
 * @param agentLeases the node agents' heartbeat Leases by name; empty when they are not watched (no
 *     operator namespace)
 */
public record PoolObservation(
    List<AoeBootSlot> ownSlots, List<AoeBootSlot> allSlots, List<AoeBootPool> allPools, List<Node> nodes,
    List<AoeBootClient> clients, Optional<Map<String, Lease>> agentLeases) {
  /** Copies the lists so the record stays immutable. */
  public PoolObservation {
    ownSlots = List.copyOf(ownSlots);
    allSlots = List.copyOf(allSlots);
    allPools = List.copyOf(allPools);
    nodes = List.copyOf(nodes);
    clients = List.copyOf(clients);
    agentLeases = agentLeases.map(Map::copyOf);
  }

  /** Names of all Node objects. */
  public Set<String> nodeNames() {
    return nodes.stream().map(n -> n.getMetadata().getName()).collect(Collectors.toUnmodifiableSet());
  }

  /** Names of Nodes whose Ready condition is True. */
  public Set<String> readyNodeNames() {
    return nodes.stream().filter(NodePicker::isReady).map(n -> n.getMetadata().getName())
        .collect(Collectors.toUnmodifiableSet());
  }

  /** Number of slot objects per node name, over all pools and namespaces. */
  public Map<String, Integer> slotsPerNode() {
    return allSlots.stream()
        .filter(s -> s.getSpec() != null && s.getSpec().getNodeName() != null)
        .collect(Collectors.toUnmodifiableMap(s -> s.getSpec().getNodeName(), s -> 1, Integer::sum));
  }
}
