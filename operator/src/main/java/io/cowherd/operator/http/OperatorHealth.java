package io.cowherd.operator.http;

import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Liveness and readiness of the operator, from what java-operator-sdk reports.
 *
 * <ul>
 *   <li>Readiness: the operator has started (informers synced).
 *   <li>Liveness: passes while starting and on a standby replica (leader election on, Lease held
 *       by another); otherwise fails while any informer is unhealthy (not running, not synced or
 *       not watching), so the kubelet restarts an operator whose watches broke for good (the
 *       probe's failure threshold rides out a short reconnect).
 * </ul>
 */
public final class OperatorHealth {
  private final BooleanSupplier started;
  private final boolean leaderElection;
  private final BooleanSupplier leading;
  private final Supplier<Map<String, ? extends Map<String, ?>>> unhealthyEventSources;

  /**
   * @param started whether the operator has started
   * @param leaderElection whether leader election is on
   * @param leading whether this replica holds the Lease (ignored without leader election)
   * @param unhealthyEventSources unhealthy event sources by controller (asked only once started)
   */
  public OperatorHealth(BooleanSupplier started, boolean leaderElection, BooleanSupplier leading,
      Supplier<Map<String, ? extends Map<String, ?>>> unhealthyEventSources) {
    this.started = started;
    this.leaderElection = leaderElection;
    this.leading = leading;
    this.unhealthyEventSources = unhealthyEventSources;
  }

  /** Liveness, served on {@code /healthz}. */
  public HealthStatus liveness() {
    if (!started.getAsBoolean()) {
      return HealthStatus.ok("starting");
    }
    if (leaderElection && !leading.getAsBoolean()) {
      return HealthStatus.ok("standby: another replica holds the Lease");
    }
    String unhealthy = unhealthyEventSources.get().entrySet().stream()
        .filter(e -> !e.getValue().isEmpty())
        .map(e -> e.getKey() + ": " + String.join(", ", e.getValue().keySet().stream().sorted().toList()))
        .collect(Collectors.joining("; "));
    return unhealthy.isEmpty() ? HealthStatus.ok("ok") : HealthStatus.failing("unhealthy event sources: " + unhealthy);
  }

  /** Readiness, served on {@code /readyz}. */
  public HealthStatus readiness() {
    if (!started.getAsBoolean()) {
      return HealthStatus.failing("starting");
    }
    return HealthStatus.ok(leaderElection && !leading.getAsBoolean() ? "ready (standby)" : "ready");
  }
}
