package io.cowherd.operator.placement;

import java.util.Collection;
import java.util.Set;

/**
 * The nodes where a node agent runs, as the operator sees them: the nodes whose agent heartbeat
 * Lease ({@code cowherd-agent-<node>}) is fresh. Where the agent DaemonSet runs is decided by the
 * cluster (its node selector, affinity and tolerations against the nodes' labels and taints), so
 * placement follows the agents instead of evaluating those rules again.
 *
 * @param observed false when the operator cannot see the agents' Leases (no operator namespace:
 *     tests and demos that run the operator without one); then every node counts as having an agent
 * @param nodes names of the nodes with a live agent (empty when not observed)
 */
public record LiveAgents(boolean observed, Set<String> nodes) {
  /** Copies the set so the record stays immutable. */
  public LiveAgents {
    nodes = Set.copyOf(nodes);
  }

  /** Agents not observed: no node is excluded for want of an agent. */
  public static LiveAgents unobserved() {
    return new LiveAgents(false, Set.of());
  }

  /** Agents observed: live on exactly {@code nodes}. */
  public static LiveAgents on(Collection<String> nodes) {
    return new LiveAgents(true, Set.copyOf(nodes));
  }

  /** True when {@code node} may host slots as far as its agent is concerned. */
  public boolean runsOn(String node) {
    return !observed || nodes.contains(node);
  }
}
