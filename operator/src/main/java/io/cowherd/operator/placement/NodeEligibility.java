package io.cowherd.operator.placement;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Which Nodes may receive new slots, and why the others may not.
 *
 * @param eligible names of Nodes that are Ready, schedulable and match the agent node selector,
 *     sorted by name
 * @param notReady names of Nodes whose Ready condition is not True
 * @param unschedulable names of Ready Nodes with {@code spec.unschedulable: true}
 * @param notSelected names of Ready, schedulable Nodes that lack a label of the agent node selector
 * @param agentNodeSelector the selector applied
 */
public record NodeEligibility(
    List<String> eligible,
    List<String> notReady,
    List<String> unschedulable,
    List<String> notSelected,
    Map<String, String> agentNodeSelector) {
  /** Copies the lists so the record stays immutable. */
  public NodeEligibility {
    eligible = List.copyOf(eligible);
    notReady = List.copyOf(notReady);
    unschedulable = List.copyOf(unschedulable);
    notSelected = List.copyOf(notSelected);
    agentNodeSelector = Map.copyOf(agentNodeSelector);
  }

  /** True when at least one Node may receive new slots. */
  public boolean any() {
    return !eligible.isEmpty();
  }

  /**
   * Human-readable reason why no Node is eligible, e.g. {@code "3 nodes: 1 not Ready (n1), 1
   * unschedulable (n2), 1 not matching agent node selector role=boot (n3)"}.
   */
  public String describe() {
    int total = eligible.size() + notReady.size() + unschedulable.size() + notSelected.size();
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
    if (!notSelected.isEmpty()) {
      String selector = agentNodeSelector.entrySet().stream()
          .sorted(Map.Entry.comparingByKey())
          .map(e -> e.getKey() + "=" + e.getValue())
          .collect(Collectors.joining(","));
      text.append(separator).append(notSelected.size()).append(" not matching agent node selector ")
          .append(selector).append(' ').append(names(notSelected));
    }
    return text.toString();
  }

  private static String names(List<String> nodes) {
    int shown = Math.min(nodes.size(), 5);
    String list = String.join(", ", nodes.subList(0, shown));
    return "(" + list + (nodes.size() > shown ? ", ..." : "") + ")";
  }
}
