package io.cowherd.operator.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.operator.OperatorRuntime;
import io.cowherd.operator.support.ApiServerExtension;
import io.cowherd.operator.support.ApiServerHarness;
import io.cowherd.operator.support.Cluster;
import io.cowherd.operator.support.FakeAgent;
import io.cowherd.operator.support.Heartbeat;
import io.cowherd.operator.support.Operators;
import io.cowherd.operator.support.Pools;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Placement follows the node agents on a real API server: the operator (with an operator
 * namespace, as the chart runs it) puts new slots only on Ready, schedulable nodes whose agent
 * renews its heartbeat Lease ({@link Heartbeat}, every 1 s; the operator must have seen a renewal),
 * whatever the nodes' labels; where the agent DaemonSet runs is the cluster's decision. Each test
 * runs its own operator with its own Lease namespace, so Leases of other tests never count, and
 * removes its pool and Nodes at the end.
 */
@Tag("apiserver")
@ExtendWith(ApiServerExtension.class)
class AgentPlacementApiTest {
  private static final int LEASE_SECONDS = 4;
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static KubernetesClient client;
  private static Cluster cluster;

  @BeforeAll
  static void connect(ApiServerHarness harness) {
    client = harness.client();
    cluster = new Cluster(client);
  }

  @Test
  void slotsGoOnlyToNodesWithALiveAgentAndANewAgentGetsTheNextSlot() {
    String agents = "placement-a-system";
    String ns = "placement-a";
    cluster.createNamespace(agents);
    cluster.createNamespace(ns);
    cluster.createReadyNode("place-a1");
    cluster.createReadyNode("place-a2"); // Ready and schedulable, but no agent runs there yet
    OperatorRuntime operator = Operators.startRuntime(client, agents);
    Operator agentA = FakeAgent.start("place-a1", client);
    Operator agentB = FakeAgent.start("place-a2", client);
    try (Heartbeat a1 = Heartbeat.start(client, agents, "place-a1", LEASE_SECONDS).awaitRenewals(2)) {
      createPool(ns, 901, 2);
      await().atMost(TIMEOUT).untilAsserted(() -> assertThat(nodesOf(ns)).isEqualTo(List.of("place-a1", "place-a1")));

      try (Heartbeat a2 = Heartbeat.start(client, agents, "place-a2", LEASE_SECONDS).awaitRenewals(2)) {
        Instant started = Instant.now();
        client.resources(AoeBootPool.class).inNamespace(ns).withName("boot").scale(3);
        await().atMost(TIMEOUT).untilAsserted(() ->
            assertThat(nodesOf(ns)).isEqualTo(List.of("place-a1", "place-a1", "place-a2")));
        System.out.printf("PLACEMENT: slot on the node of a newly started agent %d ms after the scale-up%n",
            Duration.between(started, Instant.now()).toMillis());
      }
    } finally {
      cleanUp(ns, operator, List.of(agentA, agentB), List.of("place-a1", "place-a2"));
    }
  }

  @Test
  void aLeaseNeverRenewedAttractsNoSlotUntilItsAgentRenewsIt() {
    String agents = "placement-b-system";
    String ns = "placement-b";
    cluster.createNamespace(agents);
    cluster.createNamespace(ns);
    cluster.createReadyNode("place-b1");
    // Left behind by an agent that no longer runs there (e.g. its node left the DaemonSet's node selector): fresh
    // renewTime, but nobody renews it while this operator watches.
    client.leases().inNamespace(agents).resource(new LeaseBuilder().withNewMetadata()
        .withName(Names.agentLeaseName("place-b1")).withNamespace(agents).withLabels(Names.agentLeaseLabels()).endMetadata()
        .withNewSpec().withHolderIdentity("place-b1").withLeaseDurationSeconds(3600)
        .withRenewTime(Instant.now().atZone(ZoneOffset.UTC)).endSpec().build()).create();
    OperatorRuntime operator = Operators.startRuntime(client, agents);
    Operator agent = FakeAgent.start("place-b1", client);
    try {
      createPool(ns, 902, 1);
      await().atMost(TIMEOUT).untilAsserted(() -> {
        Condition progressing = condition(ns, "Progressing");
        assertThat(progressing.getReason()).isEqualTo("NoEligibleNode");
        assertThat(progressing.getMessage()).contains("without a live node agent", "place-b1");
      });
      assertThat(slots(ns)).isEmpty();

      try (Heartbeat renewing = Heartbeat.start(client, agents, "place-b1", LEASE_SECONDS)) {
        Instant started = Instant.now();
        await().atMost(TIMEOUT).untilAsserted(() -> assertThat(nodesOf(ns)).containsExactly("place-b1"));
        System.out.printf("PLACEMENT: waiting slot placed %d ms after its node's agent started renewing%n",
            Duration.between(started, Instant.now()).toMillis());
        await().atMost(TIMEOUT).untilAsserted(() -> assertThat(condition(ns, "Ready").getStatus()).isEqualTo("True"));
      }
    } finally {
      cleanUp(ns, operator, List.of(agent), List.of("place-b1"));
    }
  }

  /**
   * The pool's placement memory wins over agent liveness: a slot deleted while its node's agent is
   * silent is recreated on that node (its COW data is there), never moved to a node with a live
   * agent.
   */
  @Test
  void aDeletedSlotReturnsToItsRecordedNodeEvenWhileThatAgentIsSilent() {
    String agents = "placement-c-system";
    String ns = "placement-c";
    cluster.createNamespace(agents);
    cluster.createNamespace(ns);
    cluster.createReadyNode("place-c1");
    cluster.createReadyNode("place-c2");
    OperatorRuntime operator = Operators.startRuntime(client, agents);
    Operator agent1 = FakeAgent.start("place-c1", client);
    Operator agent2 = FakeAgent.start("place-c2", client);
    try (Heartbeat c2 = Heartbeat.start(client, agents, "place-c2", LEASE_SECONDS)) {
      Heartbeat c1 = Heartbeat.start(client, agents, "place-c1", LEASE_SECONDS).awaitRenewals(2);
      c2.awaitRenewals(2);
      createPool(ns, 903, 2);
      await().atMost(TIMEOUT).untilAsserted(() -> assertThat(nodesOf(ns)).containsExactlyInAnyOrder("place-c1", "place-c2"));
      String onC1 = slots(ns).stream().filter(s -> "place-c1".equals(s.getSpec().getNodeName())).findFirst().orElseThrow()
          .getMetadata().getName();
      Instant last = c1.stop();
      await().atMost(TIMEOUT).until(() -> Duration.between(last, Instant.now()).toSeconds() > LEASE_SECONDS + 1);

      String oldUid = client.resources(AoeBootSlot.class).inNamespace(ns).withName(onC1).get().getMetadata().getUid();
      client.resources(AoeBootSlot.class).inNamespace(ns).withName(onC1).delete();
      await().atMost(TIMEOUT).untilAsserted(() -> {
        AoeBootSlot again = client.resources(AoeBootSlot.class).inNamespace(ns).withName(onC1).get();
        assertThat(again).isNotNull();
        assertThat(again.getMetadata().getUid()).isNotEqualTo(oldUid);
        assertThat(again.getSpec().getNodeName()).isEqualTo("place-c1");
      });
    } finally {
      cleanUp(ns, operator, List.of(agent1, agent2), List.of("place-c1", "place-c2"));
    }
  }

  private static void cleanUp(String namespace, OperatorRuntime operator, List<Operator> agents, List<String> nodes) {
    new Cluster(client).deletePoolThenNodes(namespace, "boot", () -> {
      agents.forEach(Operator::stop);
      operator.stop();
    }, nodes);
  }

  private static void createPool(String namespace, int shelf, int replicas) {
    AoeBootPool pool = Pools.aPool().inNamespace(namespace).named("boot").shelf(shelf).replicas(replicas).buildForCreate();
    client.resource(pool).create();
  }

  private static List<AoeBootSlot> slots(String namespace) {
    return client.resources(AoeBootSlot.class).inNamespace(namespace).list().getItems().stream()
        .sorted(Comparator.comparing(s -> s.getSpec().getSlot())).toList();
  }

  /** Node of each slot, by slot number. */
  private static List<String> nodesOf(String namespace) {
    return slots(namespace).stream().map(s -> s.getSpec().getNodeName()).collect(Collectors.toList());
  }

  private static Condition condition(String namespace, String type) {
    AoeBootPool pool = client.resources(AoeBootPool.class).inNamespace(namespace).withName("boot").get();
    return pool.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst()
        .orElseThrow(() -> new AssertionError("no condition " + type));
  }
}
