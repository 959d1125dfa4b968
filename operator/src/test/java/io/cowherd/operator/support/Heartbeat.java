package io.cowherd.operator.support;

import static org.awaitility.Awaitility.await;

import io.cowherd.api.Names;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Renews a node agent's heartbeat Lease ({@link Names#agentLeaseName}) as the agent does, by
 * server-side apply, every 1 s: what the operator's liveness condition and placement look at.
 */
public final class Heartbeat implements AutoCloseable {
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final KubernetesClient client;
  private final String namespace;
  private final String node;
  private final int leaseSeconds;
  private final AtomicInteger renewals = new AtomicInteger();
  private volatile Instant last;

  private Heartbeat(KubernetesClient client, String namespace, String node, int leaseSeconds) {
    this.client = client;
    this.namespace = namespace;
    this.node = node;
    this.leaseSeconds = leaseSeconds;
  }

  /**
   * Starts renewing and returns after the first renewal was written.
   *
   * @param client writes the Lease (the agent's identity, or an admin)
   * @param namespace the agents' namespace
   * @param node the node whose agent this stands for
   * @param leaseSeconds {@code spec.leaseDurationSeconds}
   */
  public static Heartbeat start(KubernetesClient client, String namespace, String node, int leaseSeconds) {
    Heartbeat h = new Heartbeat(client, namespace, node, leaseSeconds);
    h.scheduler.scheduleWithFixedDelay(h::renew, 0, 1, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(10)).until(() -> h.last != null);
    return h;
  }

  private void renew() {
    Instant now = Instant.now();
    Lease lease = new LeaseBuilder().withNewMetadata().withName(Names.agentLeaseName(node)).withNamespace(namespace)
        .withLabels(Names.agentLeaseLabels()).endMetadata()
        .withNewSpec().withHolderIdentity(node).withLeaseDurationSeconds(leaseSeconds)
        .withRenewTime(now.atZone(ZoneOffset.UTC)).endSpec().build();
    client.resource(lease).fieldManager("heartbeat-" + node).forceConflicts().serverSideApply();
    last = now;
    renewals.incrementAndGet();
  }

  /**
   * Returns once the Lease was renewed {@code count} times after its first write: the operator
   * places slots only on nodes whose Lease it saw renewed.
   */
  public Heartbeat awaitRenewals(int count) {
    await().atMost(Duration.ofSeconds(count + 10L)).until(() -> renewals.get() > count);
    return this;
  }

  /** Stops renewing; returns when the last renewal was written. */
  public Instant stop() {
    scheduler.shutdownNow();
    try {
      scheduler.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return last;
  }

  @Override
  public void close() {
    stop();
  }
}
