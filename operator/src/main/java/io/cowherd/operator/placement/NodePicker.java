package io.cowherd.operator.placement;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Chooses the Node for a new slot. Pure: Node objects, live agents and slot counts in, a node name
 * out.
 *
 * <p>A Node is eligible when its {@code Ready} condition is {@code True}, it is not {@code
 * spec.unschedulable} (cordoned: a drain is coming), and a node agent runs there ({@link
 * LiveAgents}): where the agent DaemonSet runs is the cluster's decision (node selector, affinity,
 * taints and tolerations), not re-implemented here. A new slot goes to the eligible Node with the
 * fewest cowherd slots (all pools, all namespaces), ties broken by node name. Existing slots are
 * never moved: placement is asked only for slots that do not exist.
 */
public final class NodePicker {
  /** Sorts {@code nodes} into eligible and not eligible (with the reason). */
  public NodeEligibility eligibility(Collection<Node> nodes, LiveAgents agents) {
    List<String> eligible = new ArrayList<>();
    List<String> notReady = new ArrayList<>();
    List<String> unschedulable = new ArrayList<>();
    List<String> noAgent = new ArrayList<>();
    nodes.stream()
        .sorted(Comparator.comparing(NodePicker::name))
        .forEach(node -> {
          if (!isReady(node)) {
            notReady.add(name(node));
          } else if (isUnschedulable(node)) {
            unschedulable.add(name(node));
          } else if (!agents.runsOn(name(node))) {
            noAgent.add(name(node));
          } else {
            eligible.add(name(node));
          }
        });
    return new NodeEligibility(eligible, notReady, unschedulable, noAgent);
  }

  /**
   * The eligible node with the fewest slots, ties broken by node name.
   *
   * @param eligibleNodes names of eligible Nodes
   * @param slotsPerNode number of existing cowherd slots per node name (missing = 0)
   * @return the chosen node name, or empty when {@code eligibleNodes} is empty
   */
  public static Optional<String> pick(Collection<String> eligibleNodes, Map<String, Integer> slotsPerNode) {
    return eligibleNodes.stream()
        .min(Comparator.<String>comparingInt(node -> slotsPerNode.getOrDefault(node, 0))
            .thenComparing(Comparator.naturalOrder()));
  }

  /** True when the Node's {@code Ready} condition has status {@code True}. */
  public static boolean isReady(Node node) {
    if (node.getStatus() == null || node.getStatus().getConditions() == null) {
      return false;
    }
    for (NodeCondition condition : node.getStatus().getConditions()) {
      if ("Ready".equals(condition.getType())) {
        return "True".equals(condition.getStatus());
      }
    }
    return false;
  }

  private static boolean isUnschedulable(Node node) {
    return node.getSpec() != null && Boolean.TRUE.equals(node.getSpec().getUnschedulable());
  }

  private static String name(Node node) {
    return node.getMetadata().getName();
  }
}
