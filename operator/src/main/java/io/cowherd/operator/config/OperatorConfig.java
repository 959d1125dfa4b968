package io.cowherd.operator.config;

import java.util.OptionalInt;
import java.util.Set;

/**
 * Operator settings, read once at start from the command line (see {@link OperatorCommand}) and
 * immutable afterwards.
 *
 * @param namespaces namespaces whose pools this operator reconciles; empty means all namespaces.
 *     Slots, pools (for the cluster-wide target conflict check) and Nodes are always watched in all
 *     namespaces.
 * @param logLevel root log level (TRACE, DEBUG, INFO, WARN, ERROR)
 * @param logFormat {@code text} (default) or {@code json} (one JSON object per line)
 * @param operatorNamespace the namespace the operator runs in (its Lease, the node agents'
 *     heartbeat Leases); null when unknown (then neither leader election nor agent liveness can be
 *     used, and placement counts every Ready, schedulable Node as running an agent)
 * @param leaderElection whether a Lease elects one active replica
 * @param leaseName name of that Lease
 * @param httpPort port of the health ({@code /healthz}, {@code /readyz}) and metrics endpoints;
 *     empty for no HTTP server
 * @param metrics whether {@code /metrics} is served (Prometheus text format)
 */
public record OperatorConfig(
    Set<String> namespaces,
    String logLevel,
    String logFormat,
    String operatorNamespace,
    boolean leaderElection,
    String leaseName,
    OptionalInt httpPort,
    boolean metrics) {
  /** Log format written by default. */
  public static final String TEXT = "text";
  /** Log format with one JSON object per line. */
  public static final String JSON = "json";
  /** Default Lease name. */
  public static final String DEFAULT_LEASE_NAME = "cowherd-operator";

  /** Copies the collections so the record stays immutable. */
  public OperatorConfig {
    namespaces = Set.copyOf(namespaces);
  }

  /** Pool reconciliation only: text logs, no leader election, no HTTP server, no operator namespace. */
  public OperatorConfig(Set<String> namespaces, String logLevel) {
    this(namespaces, logLevel, TEXT, null, false, DEFAULT_LEASE_NAME, OptionalInt.empty(), true);
  }

  /** True when pools in every namespace are reconciled. */
  public boolean watchesAllNamespaces() {
    return namespaces.isEmpty();
  }

  /** Copy with another operator namespace. */
  public OperatorConfig inNamespace(String namespace) {
    return new OperatorConfig(namespaces, logLevel, logFormat, namespace, leaderElection, leaseName, httpPort,
        metrics);
  }
}
