package io.cowherd.operator.liveness;

import io.cowherd.api.Names;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decides whether a node agent is alive from its heartbeat Lease ({@link Names#agentLeaseName}).
 *
 * <p>Expiry is measured on the operator's clock from the moment the operator first saw the Lease's
 * current renewal (a new {@code resourceVersion}), plus {@code spec.leaseDurationSeconds}, as the
 * Kubernetes node lifecycle controller does with node Leases: the agent's clock may be off. So after
 * an operator restart a dead agent shows after one lease duration at the latest. The Lease's own
 * {@code renewTime} only goes into messages.
 */
public final class AgentHeartbeats {
  /** Lease duration assumed when a Lease carries none, in seconds (the agent's default). */
  static final int DEFAULT_LEASE_DURATION_SECONDS = 40;

  private final Map<String, Seen> seen = new ConcurrentHashMap<>();

  /** When a Lease version was first seen. */
  private record Seen(String resourceVersion, Instant at) {}

  /**
   * What is known of a node agent now.
   *
   * @param alive true while its Lease is fresh
   * @param message for the condition when not alive
   * @param recheckAfter when the answer may change without a Lease event (the expiry), if alive
   */
  public record Verdict(boolean alive, String message, Optional<Duration> recheckAfter) {}

  /**
   * Judges the agent of {@code node} from its Lease (empty when there is none) at {@code now}.
   *
   * @param leaseNamespace namespace the Lease is looked for in, for the message
   */
  public Verdict judge(String node, String leaseNamespace, Optional<Lease> lease, Instant now) {
    String where = leaseNamespace + "/" + Names.agentLeaseName(node);
    if (lease.isEmpty()) {
      return new Verdict(false, "no heartbeat from the node agent on node " + node + ": Lease " + where
          + " does not exist (agent not running, or never started)", Optional.empty());
    }
    Lease l = lease.get();
    Seen first = seen.compute(where, (k, old) ->
        old != null && Objects.equals(old.resourceVersion(), l.getMetadata().getResourceVersion())
            ? old : new Seen(l.getMetadata().getResourceVersion(), now));
    int durationSeconds = l.getSpec() == null || l.getSpec().getLeaseDurationSeconds() == null
        ? DEFAULT_LEASE_DURATION_SECONDS : l.getSpec().getLeaseDurationSeconds();
    Instant expires = first.at().plusSeconds(durationSeconds);
    if (now.isBefore(expires)) {
      return new Verdict(true, "", Optional.of(Duration.between(now, expires)));
    }
    String renewed = l.getSpec() == null || l.getSpec().getRenewTime() == null
        ? "never" : l.getSpec().getRenewTime().toInstant().toString();
    return new Verdict(false, "node agent on node " + node + " is silent: heartbeat Lease " + where
        + " last renewed " + renewed + " (lease duration " + durationSeconds + " s); slot status below may be stale",
        Optional.empty());
  }
}
