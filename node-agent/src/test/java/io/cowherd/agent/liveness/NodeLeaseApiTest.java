package io.cowherd.agent.liveness;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.support.ApiServer;
import io.cowherd.api.Names;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The agent's heartbeat Lease against a real API server: created, renewed, recreated, left to expire. */
@Tag("apiserver")
class NodeLeaseApiTest {
  private static final String NS = "cowherd-system";
  private static ApiServer api;
  private static KubernetesClient client;

  @BeforeAll
  static void start() throws IOException {
    api = ApiServer.start();
    client = api.client();
    client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
  }

  @AfterAll
  static void stop() {
    if (api != null) {
      api.close();
    }
  }

  private static Lease lease(String node) {
    return client.leases().inNamespace(NS).withName(Names.agentLeaseName(node)).get();
  }

  @Test
  void firstRenewalCreatesTheLeaseWithHolderDurationAndLabels() {
    NodeLease heartbeat = new NodeLease(client, NS, "node-a", Duration.ofSeconds(10), Duration.ofSeconds(40), Clock.systemUTC());

    assertThat(heartbeat.renew()).isTrue();

    Lease lease = lease("node-a");
    assertThat(lease.getMetadata().getName()).isEqualTo("cowherd-agent-node-a");
    assertThat(lease.getMetadata().getLabels()).containsAllEntriesOf(Names.agentLeaseLabels());
    assertThat(lease.getSpec().getHolderIdentity()).isEqualTo("node-a");
    assertThat(lease.getSpec().getLeaseDurationSeconds()).isEqualTo(40);
    assertThat(lease.getSpec().getRenewTime()).isNotNull();
    assertThat(heartbeat.lastRenewed()).isPresent();
  }

  @Test
  void scheduledRenewalsMoveRenewTimeForwardUntilClosed() {
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    try (NodeLease heartbeat = new NodeLease(client, NS, "node-b", Duration.ofSeconds(1), Duration.ofSeconds(4),
        Clock.systemUTC())) {
      heartbeat.start(scheduler);
      await().atMost(Duration.ofSeconds(10)).until(() -> lease("node-b") != null);
      Instant first = lease("node-b").getSpec().getRenewTime().toInstant();

      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(lease("node-b").getSpec().getRenewTime().toInstant()).isAfter(first));

      heartbeat.close();
      String version = lease("node-b").getMetadata().getResourceVersion();
      await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).untilAsserted(() ->
          assertThat(lease("node-b").getMetadata().getResourceVersion()).as("no write after close").isEqualTo(version));
    } finally {
      scheduler.shutdownNow();
    }
  }

  @Test
  void aDeletedOrChangedLeaseIsRecreatedOrTakenOverAtTheNextRenewals() {
    NodeLease heartbeat = new NodeLease(client, NS, "node-c", Duration.ofSeconds(10), Duration.ofSeconds(40), Clock.systemUTC());
    assertThat(heartbeat.renew()).isTrue();

    client.leases().inNamespace(NS).withName("cowherd-agent-node-c").delete();
    await().atMost(Duration.ofSeconds(10)).until(() -> lease("node-c") == null);
    boolean first = heartbeat.renew(); // the update fails (gone): read again next time
    if (!first) {
      assertThat(heartbeat.renew()).isTrue();
    }
    assertThat(lease("node-c").getSpec().getHolderIdentity()).isEqualTo("node-c");

    client.leases().inNamespace(NS).withName("cowherd-agent-node-c").edit(l -> {
      l.getSpec().setHolderIdentity("someone-else");
      return l;
    });
    if (!heartbeat.renew()) { // conflict on the stale copy: the next renewal reads again
      assertThat(heartbeat.renew()).isTrue();
    }
    assertThat(lease("node-c").getSpec().getHolderIdentity()).isEqualTo("node-c");
  }

  @Test
  void durationsOutOfRangeAreRefused() {
    assertThatThrownBy(() -> new NodeLease(client, NS, "n", Duration.ofSeconds(10), Duration.ofSeconds(10), Clock.systemUTC()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("longer than the renew interval");
    assertThatThrownBy(() -> new NodeLease(client, NS, "n", Duration.ofMillis(500), Duration.ofSeconds(10), Clock.systemUTC()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 1 s");
  }
}
