package io.cowherd.operator.placement;

import java.util.List;

/**
 * Which Nodes may receive new slots, and why the others may not.
 *
 * @param eligible names of Nodes that are Ready, schedulable and run a live node agent, sorted by
 *     name
 * @param notReady names of Nodes whose Ready condition is not True
 * @param unschedulable names of Ready Nodes with {@code spec.unschedulable: true}
 * @param noAgent names of Ready, schedulable Nodes without a live node agent (the agent DaemonSet
 *     does not run there, or its agent is down)
 */
public record NodeEligibility(
    List<String> eligible,
    List<String> notReady,
    List<String> unschedulable,
    List<String> noAgent) {
  /** Copies the lists so the record stays immutable. */
  public NodeEligibility {
    eligible = List.copyOf(eligible);
    notReady = List.copyOf(notReady);
    unschedulable = List.copyOf(unschedulable);
    noAgent = List.copyOf(noAgent);
  }

  /** True when at least one Node may receive new slots. */
  public boolean any() {
    return !eligible.isEmpty();
  }

  /**
   * Human-readable reason why no Node is eligible, e.g. {@code "3 nodes: 1 not Ready (n1), 1
   * unschedulable (n2), 1 without a live node agent (n3)"}.
   */
  public String describe() {
    int total = eligible.size() + notReady.size() + unschedulable.size() + noAgent.size();
    if (total == 0) {
      return "no Node objects exist";
    }
    StringBuilder text = new StringBuilder().append(total).append(total == 1 ? " node" : " nodes");
    String separator = ": ";
    if (!notReady.isEmpty()) {
      text.append(separator).append(notReady.size()).append(" not Ready ").append(names(notReady));
      separator = ", ";
    }
    if (!unschedulable.isEmpty()) {
      text.append(separator).append(unschedulable.size()).append(" unschedulable ").append(names(unschedulable));
      separator = ", ";
    }
    if (!noAgent.isEmpty()) {
      text.append(separator).append(noAgent.size()).append(" without a live node agent ").append(names(noAgent))
          .append(" (the agent DaemonSet's node selector, affinity and tolerations decide where agents run)");
    }
    return text.toString();
  }

  private static String names(List<String> nodes) {
    int shown = Math.min(nodes.size(), 5);
    String list = String.join(", ", nodes.subList(0, shown));
    return "(" + list + (nodes.size() > shown ? ", ..." : "") + ")";
  }
}
