package io.cowherd.operator.liveness;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.operator.OperatorRuntime;
import io.cowherd.operator.support.ApiServerExtension;
import io.cowherd.operator.support.ApiServerHarness;
import io.cowherd.operator.support.Cluster;
import io.cowherd.operator.support.FakeAgent;
import io.cowherd.operator.support.Heartbeat;
import io.cowherd.operator.support.Nodes;
import io.cowherd.operator.support.Operators;
import io.cowherd.operator.support.Pools;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.processing.Controller;
import io.javaoperatorsdk.operator.processing.retry.RetryExecution;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The operator's liveness controller on a real API server: heartbeat Leases written here as the
 * node agent writes them (renewed every 1 s, duration 4 s), slot status by the agent's field
 * manager (server-side apply, {@link FakeAgent} and direct applies), the condition by {@link
 * LivenessConditionWriter}. One node (the only eligible one); each test has its own namespace and shelf.
 */
@Tag("apiserver")
@ExtendWith(ApiServerExtension.class)
class AgentLivenessApiTest {
  private static final String AGENTS_NS = "liveness-system";
  private static final String NODE = "live-a";
  private static final String SELECTOR_LABEL = "liveness-test";
  private static final int LEASE_SECONDS = 4;
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static KubernetesClient client;
  private static Cluster cluster;
  private static OperatorRuntime operator;

  @BeforeAll
  static void startOperator(ApiServerHarness harness) {
    client = harness.client();
    cluster = new Cluster(client);
    cluster.createNamespace(AGENTS_NS);
    createNode(NODE);
    operator = Operators.startRuntime(client, AGENTS_NS);
  }

  @AfterAll
  static void stopOperator() {
    if (operator != null) {
      operator.stop();
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void theLivenessControllerRetriesAFailedWriteWithoutGivingUpAtMostEvery30Seconds() {
    var controller = (Controller<AoeBootSlot>) operator.operator().getRegisteredController(AgentLivenessReconciler.NAME)
        .orElseThrow();
    RetryExecution retry = controller.getConfiguration().getRetry().initExecution();
    List<Long> delays = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      delays.add(retry.nextDelay().orElseThrow(() -> new AssertionError("the retry gave up after " + delays.size())));
    }
    assertThat(delays).startsWith(1_000L, 1_000L, 2_000L, 4_000L)
        .allSatisfy(d -> assertThat(d).isBetween(1_000L, 30_000L)).endsWith(30_000L);
  }

  @Test
  void silentAgentShowsUnknownWithinTheLeaseDurationAndClearsWhenItRenewsWithoutTouchingAgentFields() {
    String node = NODE;
    String ns = "live-a";
    cluster.createNamespace(ns);
    Operator agent = FakeAgent.start(node, client);
    Heartbeat heartbeat = Heartbeat.start(client, AGENTS_NS, node, LEASE_SECONDS);
    try {
      createPool(ns, 811, 2);
      await().atMost(TIMEOUT).ignoreExceptions().untilAsserted(() -> assertThat(slots(ns)).hasSize(2).allSatisfy(s -> {
        assertThat(s.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
        assertThat(LivenessConditionWriter.current(s)).isEmpty();
      }));

      Instant lastRenewal = heartbeat.stop();
      await().atMost(Duration.ofSeconds(LEASE_SECONDS + 10)).pollInterval(Duration.ofMillis(100))
          .untilAsserted(() -> assertThat(slots(ns)).allSatisfy(s ->
              assertThat(LivenessConditionWriter.current(s)).hasValueSatisfying(c -> {
                assertThat(c.getStatus()).isEqualTo("Unknown");
                assertThat(c.getReason()).isEqualTo(LivenessConditionWriter.AGENT_SILENT);
                assertThat(c.getMessage()).contains("node " + node, "last renewed", "lease duration 4 s");
              })));
      Duration visibleAfter = Duration.between(lastRenewal, Instant.now());
      System.out.printf("LIVENESS: silent agent visible on its slots %d ms after its last renewal (lease duration %d s)%n",
          visibleAfter.toMillis(), LEASE_SECONDS);
      assertThat(slots(ns)).as("the operator's write keeps the agent's fields").allSatisfy(s -> {
        assertThat(s.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
        assertThat(s.getStatus().getTarget()).startsWith("e811.");
        assertThat(s.getStatus().getCowTotalSectors()).isEqualTo(2048L);
      });

      // The agent writes its status as it always does (server-side apply, its own field manager, no conditions).
      applyAgentStatus(ns, "boot-0", "fake-node-agent", SlotPhase.Failed, "interface gone");
      AoeBootSlot written = slot(ns, "boot-0");
      assertThat(written.getStatus().getPhase()).isEqualTo(SlotPhase.Failed);
      assertThat(LivenessConditionWriter.current(written)).as("the agent's write keeps the operator's condition")
          .hasValueSatisfying(c -> assertThat(c.getReason()).isEqualTo(LivenessConditionWriter.AGENT_SILENT));

      heartbeat = Heartbeat.start(client, AGENTS_NS, node, LEASE_SECONDS);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(slots(ns)).allSatisfy(s -> assertThat(LivenessConditionWriter.current(s)).isEmpty()));
      AoeBootSlot cleared = slot(ns, "boot-0");
      assertThat(cleared.getStatus().getPhase()).as("clearing keeps the agent's fields").isEqualTo(SlotPhase.Failed);
      assertThat(cleared.getStatus().getMessage()).isEqualTo("interface gone");
      assertThat(cleared.getStatus().getConditions()).isNullOrEmpty();
      assertThat(cleared.getMetadata().getManagedFields())
          .filteredOn(f -> LivenessConditionWriter.FIELD_MANAGER.equals(f.getManager()))
          .allSatisfy(f -> assertThat(String.valueOf(f.getFieldsV1().getAdditionalProperties())).doesNotContain("f:phase"));
    } finally {
      heartbeat.stop();
      agent.stop();
    }
  }

  @Test
  void missingLeaseMarksTheSlotsAndAPoolDeletionWaitingOnThatAgentSaysSo() {
    String node = NODE;
    String ns = "live-b";
    cluster.createNamespace(ns);
    Operator agent = FakeAgent.start(node, client);
    Heartbeat placing = Heartbeat.start(client, AGENTS_NS, node, LEASE_SECONDS); // slots go only to live agents
    createPool(ns, 812, 2);
    await().atMost(TIMEOUT).until(() -> slots(ns).size() == 2);
    placing.stop();
    client.leases().inNamespace(AGENTS_NS).withName(Names.agentLeaseName(node)).delete();
    await().atMost(TIMEOUT).ignoreExceptions().untilAsserted(() -> assertThat(slots(ns)).hasSize(2).allSatisfy(s -> {
      assertThat(s.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
      assertThat(s.getMetadata().getFinalizers()).contains(Names.SLOT_FINALIZER);
      assertThat(LivenessConditionWriter.current(s)).hasValueSatisfying(c ->
          assertThat(c.getMessage()).contains("Lease " + AGENTS_NS + "/cowherd-agent-live-a does not exist"));
    }));
    agent.stop(); // the agent is gone: nobody releases the slots' finalizers

    client.resources(AoeBootPool.class).inNamespace(ns).withName("boot").delete();

    await().atMost(TIMEOUT).ignoreExceptions().untilAsserted(() -> {
      AoeBootPool pool = client.resources(AoeBootPool.class).inNamespace(ns).withName("boot").get();
      Condition progressing = pool.getStatus().getConditions().stream()
          .filter(c -> "Progressing".equals(c.getType())).findFirst().orElseThrow(AssertionError::new);
      assertThat(progressing.getReason()).isEqualTo("AgentSilent");
      assertThat(progressing.getMessage()).contains("node live-a", "boot-0", "boot-1");
      assertThat(events(ns)).anyMatch(e -> "Warning".equals(e.getType()) && "AgentSilent".equals(e.getReason())
          && e.getMessage().contains("live-a"));
    });
    long warnings = events(ns).stream().filter(e -> "AgentSilent".equals(e.getReason())).count();

    Heartbeat heartbeat = Heartbeat.start(client, AGENTS_NS, node, LEASE_SECONDS);
    Operator back = FakeAgent.start(node, client);
    try {
      await().atMost(TIMEOUT).until(() -> client.resources(AoeBootPool.class).inNamespace(ns).withName("boot").get() == null);
      assertThat(warnings).as("one Warning while the same nodes were silent").isEqualTo(1);
    } finally {
      back.stop();
      heartbeat.stop();
    }
  }

  // --- helpers -------------------------------------------------------------------------------

  private static void createNode(String name) {
    client.resource(Nodes.ready(name, Map.of(SELECTOR_LABEL, "yes"))).create();
    client.nodes().withName(name).editStatus(n -> {
      n.setStatus(Nodes.ready(name).getStatus());
      return n;
    });
  }

  private static void createPool(String namespace, int shelf, int replicas) {
    AoeBootPool pool = Pools.aPool().inNamespace(namespace).named("boot").shelf(shelf).replicas(replicas).buildForCreate();
    client.resource(pool).create();
  }

  /** Server-side apply of status fields by {@code manager}, as the node agent writes them (no conditions). */
  private static void applyAgentStatus(String namespace, String name, String manager, SlotPhase phase, String message) {
    Map<String, Object> intent = Map.of(
        "apiVersion", "cowherd.io/v1alpha1", "kind", "AoeBootSlot",
        "metadata", Map.of("name", name, "namespace", namespace),
        "status", Map.of("phase", phase.name(), "message", message, "target", "e811.0", "cowTotalSectors", 2048));
    client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name).subresource("status")
        .patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY).withFieldManager(manager)
            .withForce(true).build(), client.getKubernetesSerialization().asJson(intent));
  }

  private static List<AoeBootSlot> slots(String namespace) {
    return client.resources(AoeBootSlot.class).inNamespace(namespace).list().getItems();
  }

  private static AoeBootSlot slot(String namespace, String name) {
    return client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name).get();
  }

  private static List<Event> events(String namespace) {
    return client.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> "AoeBootPool".equals(e.getInvolvedObject().getKind())).toList();
  }

}
