package io.cowherd.operator.config;

import java.util.Map;
import java.util.Set;

/**
 * Operator settings, read once at start from the command line (see {@link OperatorCommand}) and
 * immutable afterwards.
 *
 * @param namespaces namespaces whose pools this operator reconciles; empty means all namespaces.
 *     Slots, pools (for the cluster-wide target conflict check) and Nodes are always watched in all
 *     namespaces.
 * @param agentNodeSelector labels a Node must carry to host slots (where the node agent runs);
 *     empty means every Node
 * @param logLevel root log level (TRACE, DEBUG, INFO, WARN, ERROR)
 */
public record OperatorConfig(Set<String> namespaces, Map<String, String> agentNodeSelector, String logLevel) {
  /** Copies the collections so the record stays immutable. */
  public OperatorConfig {
    namespaces = Set.copyOf(namespaces);
    agentNodeSelector = Map.copyOf(agentNodeSelector);
  }

  /** True when pools in every namespace are reconciled. */
  public boolean watchesAllNamespaces() {
    return namespaces.isEmpty();
  }
}
