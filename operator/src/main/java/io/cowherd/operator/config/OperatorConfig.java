package io.cowherd.operator.config;

import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
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
 * @param logFormat {@code text} (default) or {@code json} (one JSON object per line)
 * @param operatorNamespace the namespace the operator runs in (Lease, agent DaemonSet, the node
 *     agents' heartbeat Leases); null when unknown (then neither leader election, the agent
 *     DaemonSet nor agent liveness can be used)
 * @param leaderElection whether a Lease elects one active replica
 * @param leaseName name of that Lease
 * @param httpPort port of the health ({@code /healthz}, {@code /readyz}) and metrics endpoints;
 *     empty for no HTTP server
 * @param metrics whether {@code /metrics} is served (Prometheus text format)
 * @param agent how to run the node agent DaemonSet; empty when the operator does not manage it
 */
public record OperatorConfig(
    Set<String> namespaces,
    Map<String, String> agentNodeSelector,
    String logLevel,
    String logFormat,
    String operatorNamespace,
    boolean leaderElection,
    String leaseName,
    OptionalInt httpPort,
    boolean metrics,
    Optional<AgentSettings> agent) {
  /** Log format written by default. */
  public static final String TEXT = "text";
  /** Log format with one JSON object per line. */
  public static final String JSON = "json";
  /** Default Lease name. */
  public static final String DEFAULT_LEASE_NAME = "cowherd-operator";

  /** Copies the collections so the record stays immutable. */
  public OperatorConfig {
    namespaces = Set.copyOf(namespaces);
    agentNodeSelector = Map.copyOf(agentNodeSelector);
  }

  /** Pool reconciliation only: text logs, no leader election, no HTTP server, no agent DaemonSet. */
  public OperatorConfig(Set<String> namespaces, Map<String, String> agentNodeSelector, String logLevel) {
    this(namespaces, agentNodeSelector, logLevel, TEXT, null, false, DEFAULT_LEASE_NAME, OptionalInt.empty(), true,
        Optional.empty());
  }

  /** True when pools in every namespace are reconciled. */
  public boolean watchesAllNamespaces() {
    return namespaces.isEmpty();
  }

  /** Copy with other agent settings. */
  public OperatorConfig withAgent(AgentSettings settings) {
    return new OperatorConfig(namespaces, agentNodeSelector, logLevel, logFormat, operatorNamespace, leaderElection,
        leaseName, httpPort, metrics, Optional.of(settings));
  }

  /** Copy with another operator namespace. */
  public OperatorConfig inNamespace(String namespace) {
    return new OperatorConfig(namespaces, agentNodeSelector, logLevel, logFormat, namespace, leaderElection,
        leaseName, httpPort, metrics, agent);
  }
}
