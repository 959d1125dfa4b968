package io.cowherd.operator.liveness;

import io.cowherd.api.Names;
import io.cowherd.operator.placement.LiveAgents;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether a node agent is alive from its heartbeat Lease ({@link Names#agentLeaseName}).
 *
 * <p>Expiry is measured on the operator's clock from the moment the operator first saw the Lease's
 * current renewal, plus {@code spec.leaseDurationSeconds}, as the Kubernetes node lifecycle
 * controller does with node Leases: the agent's clock may be off. So after an operator restart a
 * dead agent shows after one lease duration at the latest. A renewal is a new {@code
 * spec.renewTime} (any instant not counted before, so an agent whose clock stepped back
 * still renews) with {@code spec.holderIdentity} set: other writes to the Lease (a label or
 * annotation edit, a kubectl apply) change its {@code resourceVersion} but renew nothing, and must
 * not make a dead agent look alive; nor may a stale copy, one with a {@code renewTime} counted
 * before (as a lagging informer cache holds). The value of {@code renewTime} only goes into
 * messages. Leases deleted are forgotten ({@link #forget}), so the map holds only existing Leases.
 *
 * <p>One instance serves both the liveness condition on slots and placement ({@link #liveAgents}),
 * so both see an agent alive or silent at the same moment. Placement is stricter: it also needs a
 * renewal this operator saw happen (a second version of the Lease), so a Lease left behind by an
 * agent that no longer runs (e.g. its node left the DaemonSet's node selector) does not attract
 * slots after an operator restart. A new agent becomes placeable with its first renewal (10 s by
 * default). Thread-safe.
 *
 * <p>The liveness condition is judged with {@link #judgeConfirmed}: "silent" only after a fresh read
 * of the Lease confirms what the informer's copy says.
 */
public final class AgentHeartbeats {
  /** Lease duration assumed when a Lease carries none, in seconds (the agent's default). */
  static final int DEFAULT_LEASE_DURATION_SECONDS = 40;
  /** How many renewals before the current one are remembered, to know a stale copy of the Lease. */
  static final int EARLIER_RENEWALS = 16;
  private static final Logger LOG = LoggerFactory.getLogger(AgentHeartbeats.class);

  private final Map<String, Seen> seen = new ConcurrentHashMap<>();

  /**
   * The renewal of a Lease last counted ({@code spec.renewTime}; null if none), when this
   * operator first saw it, whether it replaced a renewal seen before (one this operator watched
   * happen), and the renewals counted before it (newest last, at most {@link #EARLIER_RENEWALS}).
   */
  private record Seen(Instant renewTime, Instant at, boolean renewalSeen, List<Instant> earlier) {
    Seen renewed(Instant next, Instant now) {
      List<Instant> before = new ArrayList<>(earlier);
      if (renewTime != null) {
        before.add(renewTime);
      }
      while (before.size() > EARLIER_RENEWALS) {
        before.removeFirst();
      }
      return new Seen(next, now, true, List.copyOf(before));
    }
  }

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
    return judgeSeen(node, leaseNamespace, lease, now).verdict();
  }

  /**
   * A fresh copy of an agent's heartbeat Lease, read from the API server (not from a cache).
   */
  @FunctionalInterface
  public interface LeaseReader {
    /**
     * @return the Lease {@code namespace/name}, empty when it does not exist
     * @throws KubernetesClientException when the API server cannot answer
     */
    Optional<Lease> read(String namespace, String name);

    /**
     * A list through {@code client} with field selector {@code metadata.name=<name>}: without a
     * resourceVersion the API server reads it from etcd (a quorum read, as a GET would), and it needs
     * only the list right the operator holds for the informer (its Role grants no get on arbitrary
     * Leases).
     */
    static LeaseReader of(KubernetesClient client) {
      return (namespace, name) -> client.resources(Lease.class).inNamespace(namespace).withField("metadata.name", name)
          .list().getItems().stream().findFirst();
    }
  }

  /**
   * Judges like {@link #judge}, but never answers "silent" from {@code cached} alone: before that,
   * reads the Lease afresh and judges again with what the API server holds. The informer's copy may
   * lag behind (an operator that stalled, a watch that reconnects), and a renewal the operator did not
   * see would otherwise make a live agent look silent. A renewal found this way counts as seen at
   * {@code now}. When the read fails, the answer from {@code cached} stands.
   *
   * @param cached the Lease as the informer holds it (empty when it holds none)
   * @param fresh reads the Lease from the API server; called only when {@code cached} says silent
   */
  public Verdict judgeConfirmed(String node, String leaseNamespace, Optional<Lease> cached, LeaseReader fresh,
      Instant now) {
    Verdict fromCache = judge(node, leaseNamespace, cached, now);
    if (fromCache.alive()) {
      return fromCache;
    }
    Optional<Lease> current;
    try {
      current = fresh.read(leaseNamespace, Names.agentLeaseName(node));
    } catch (KubernetesClientException e) {
      LOG.warn("cannot re-read heartbeat Lease {}/{} before marking the agent of node {} silent: {}", leaseNamespace,
          Names.agentLeaseName(node), node, e.getMessage());
      return fromCache;
    }
    current.ifPresent(l -> observe(l, now));
    return judge(node, leaseNamespace, current, now);
  }

  private record Judged(Verdict verdict, boolean renewalSeen) {}

  private Judged judgeSeen(String node, String leaseNamespace, Optional<Lease> lease, Instant now) {
    String where = leaseNamespace + "/" + Names.agentLeaseName(node);
    if (lease.isEmpty()) {
      return new Judged(new Verdict(false, "no heartbeat from the node agent on node " + node + ": Lease " + where
          + " does not exist (agent not running, or never started)", Optional.empty()), false);
    }
    Lease l = lease.get();
    Seen first = record(where, l, now);
    int durationSeconds = l.getSpec() == null || l.getSpec().getLeaseDurationSeconds() == null
        ? DEFAULT_LEASE_DURATION_SECONDS : l.getSpec().getLeaseDurationSeconds();
    Instant expires = first.at().plusSeconds(durationSeconds);
    if (now.isBefore(expires)) {
      return new Judged(new Verdict(true, "", Optional.of(Duration.between(now, expires))), first.renewalSeen());
    }
    String renewed = l.getSpec() == null || l.getSpec().getRenewTime() == null
        ? "never" : l.getSpec().getRenewTime().toInstant().toString();
    return new Judged(new Verdict(false, "node agent on node " + node + " is silent: heartbeat Lease " + where
        + " last renewed " + renewed + " (lease duration " + durationSeconds + " s); slot status below may be stale",
        Optional.empty()), false);
  }

  /**
   * Notes a version of an agent's Lease as the informer delivers it (every add and update, so that
   * renewals are counted even while nobody judges that agent).
   *
   * @param lease a heartbeat Lease
   * @param now the operator's clock
   */
  public void observe(Lease lease, Instant now) {
    record(key(lease), lease, now);
  }

  /**
   * Forgets a deleted Lease (the informer's delete event): an agent whose Lease comes back starts
   * over, as one seen for the first time.
   */
  public void forget(Lease lease) {
    seen.remove(key(lease));
  }

  /** How many Leases are remembered (for tests: deleted ones are not). */
  int remembered() {
    return seen.size();
  }

  private static String key(Lease lease) {
    return lease.getMetadata().getNamespace() + "/" + lease.getMetadata().getName();
  }

  /**
   * Keeps {@code where}'s entry unless {@code lease} carries a renewal other than the one counted
   * and the ones counted before it. A copy with an earlier counted {@code renewTime} is a stale copy:
   * the operator's informers (pool placement, liveness) each hold their own, one may lag behind the
   * other, and a lagging copy would otherwise count as a renewal now and keep a dead agent alive for
   * another lease duration. (Not by {@code resourceVersion} order: after an etcd restore the versions
   * go back, and every renewal would look stale.)
   */
  private Seen record(String where, Lease lease, Instant now) {
    Instant renewTime = lease.getSpec() == null || lease.getSpec().getRenewTime() == null
        ? null : lease.getSpec().getRenewTime().toInstant();
    String holder = lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
    boolean renewal = renewTime != null && holder != null && !holder.isBlank();
    return seen.compute(where, (k, old) -> {
      if (old == null) {
        return new Seen(renewTime, now, false, List.of());
      }
      boolean fresh = renewal && !Objects.equals(old.renewTime(), renewTime) && !old.earlier().contains(renewTime);
      return fresh ? old.renewed(renewTime, now) : old;
    });
  }

  /**
   * The nodes among {@code nodes} whose agent is alive now and whose Lease this operator saw
   * renewed: what placement may use.
   *
   * @param nodes node names to judge
   * @param leaseNamespace namespace of the agents' Leases
   * @param leasesByName the agents' Leases in that namespace, by Lease name
   * @param now the operator's clock
   */
  public LiveAgents liveAgents(Collection<String> nodes, String leaseNamespace, Map<String, Lease> leasesByName,
      Instant now) {
    return LiveAgents.on(nodes.stream()
        .filter(node -> {
          Judged judged = judgeSeen(node, leaseNamespace, Optional.ofNullable(leasesByName.get(Names.agentLeaseName(node))),
              now);
          return judged.verdict().alive() && judged.renewalSeen();
        })
        .toList());
  }
}
