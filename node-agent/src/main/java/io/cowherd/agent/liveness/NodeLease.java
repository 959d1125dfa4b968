package io.cowherd.agent.liveness;

import io.cowherd.api.Names;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent's heartbeat: one {@code coordination.k8s.io/v1} Lease per node, named {@link
 * Names#agentLeaseName} in the agent's namespace, {@code spec.holderIdentity} = the node name,
 * {@code spec.leaseDurationSeconds} = how long the operator waits before it calls the agent silent,
 * and {@code spec.renewTime} moved to now every renew interval (as the kubelet's node Lease does).
 * These renewals are the agent's only API writes in a steady state.
 *
 * <p>A renewal updates the Lease last read or written (one PUT, no GET); after a conflict or a
 * NotFound the next renewal reads it again (or creates it). A failed renewal is logged (once per
 * run of failures) and retried at the next interval; it never stops the agent: exporters keep
 * serving whatever the API server says.
 */
public final class NodeLease implements AutoCloseable {
  /** Default time between renewals. */
  public static final Duration DEFAULT_RENEW_INTERVAL = Duration.ofSeconds(10);
  /** Default lease duration: four renew intervals, so three renewals in a row may fail. */
  public static final Duration DEFAULT_LEASE_DURATION = Duration.ofSeconds(40);
  private static final Logger LOG = LoggerFactory.getLogger(NodeLease.class);

  private final KubernetesClient client;
  private final String namespace;
  private final String nodeName;
  private final String leaseName;
  private final Duration renewInterval;
  private final Duration leaseDuration;
  private final Clock clock;
  private Lease last;
  private boolean failing;
  private volatile Instant lastRenewed;
  private ScheduledFuture<?> task;

  /**
   * @param client client whose identity may get, create and update Leases in {@code namespace}
   * @param namespace namespace of the Lease (the agent's own)
   * @param nodeName this node's name
   * @param renewInterval time between renewals, at least 1 s
   * @param leaseDuration written to {@code spec.leaseDurationSeconds} (whole seconds); more than
   *     {@code renewInterval}
   * @throws IllegalArgumentException when the durations are out of range
   */
  public NodeLease(KubernetesClient client, String namespace, String nodeName, Duration renewInterval,
      Duration leaseDuration, Clock clock) {
    if (renewInterval.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("lease renew interval must be at least 1 s, got " + renewInterval);
    }
    if (leaseDuration.compareTo(renewInterval) <= 0 || leaseDuration.toSeconds() < 1) {
      throw new IllegalArgumentException("lease duration (" + leaseDuration.toSeconds()
          + " s) must be longer than the renew interval (" + renewInterval.toSeconds() + " s)");
    }
    this.client = client;
    this.namespace = Objects.requireNonNull(namespace, "namespace");
    this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
    this.leaseName = Names.agentLeaseName(nodeName);
    this.renewInterval = renewInterval;
    this.leaseDuration = leaseDuration;
    this.clock = clock;
  }

  /** Renews now and then every renew interval on {@code scheduler} until {@link #close}. */
  public synchronized void start(ScheduledExecutorService scheduler) {
    if (task == null) {
      task = scheduler.scheduleWithFixedDelay(this::renewQuietly, 0, renewInterval.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Creates the Lease or moves its {@code renewTime} to now.
   *
   * @return whether the API server took the write
   */
  public synchronized boolean renew() {
    ZonedDateTime now = clock.instant().truncatedTo(ChronoUnit.MICROS).atZone(ZoneOffset.UTC);
    try {
      if (last == null) {
        last = client.leases().inNamespace(namespace).withName(leaseName).get();
      }
      if (last == null) {
        last = client.leases().inNamespace(namespace).resource(new LeaseBuilder()
            .withMetadata(new ObjectMetaBuilder().withName(leaseName).withNamespace(namespace)
                .withLabels(Names.agentLeaseLabels()).build())
            .withNewSpec()
            .withHolderIdentity(nodeName)
            .withLeaseDurationSeconds((int) leaseDuration.toSeconds())
            .withAcquireTime(now)
            .withRenewTime(now)
            .endSpec()
            .build()).create();
      } else {
        Lease next = new LeaseBuilder(last)
            .editSpec()
            .withHolderIdentity(nodeName)
            .withLeaseDurationSeconds((int) leaseDuration.toSeconds())
            .withRenewTime(now)
            .endSpec()
            .build();
        last = client.leases().inNamespace(namespace).resource(next).update();
      }
      lastRenewed = now.toInstant();
      if (failing) {
        LOG.info("heartbeat Lease {}/{} renewed again", namespace, leaseName);
        failing = false;
      }
      return true;
    } catch (KubernetesClientException e) {
      last = null; // read it again next time (conflict, deleted, or unknown state)
      if (!failing) {
        LOG.warn("cannot renew heartbeat Lease {}/{} (retrying every {} s; the operator marks this node's slots "
            + "AgentAlive=Unknown after {} s without renewal): {}", namespace, leaseName, renewInterval.toSeconds(),
            leaseDuration.toSeconds(), e.getMessage());
        failing = true;
      }
      return false;
    }
  }

  private void renewQuietly() {
    try {
      renew();
    } catch (RuntimeException e) {
      // Never let the scheduled task die: the next interval tries again.
      LOG.warn("heartbeat renewal failed unexpectedly", e);
    }
  }

  /** When the Lease was last renewed by this agent, if ever. */
  public Optional<Instant> lastRenewed() {
    return Optional.ofNullable(lastRenewed);
  }

  /** Name of the Lease. */
  public String leaseName() {
    return leaseName;
  }

  /** Stops renewing (the Lease is left to expire: an agent that stops is silent). */
  @Override
  public synchronized void close() {
    if (task != null) {
      task.cancel(false);
      task = null;
    }
  }
}
