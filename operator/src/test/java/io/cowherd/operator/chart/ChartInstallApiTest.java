package io.cowherd.operator.chart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.marcnuri.helm.Helm;
import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootClientSpec;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.operator.OperatorRuntime;
import io.cowherd.operator.config.OperatorCommand;
import io.cowherd.operator.config.OperatorConfig;
import io.cowherd.operator.liveness.AgentHeartbeats;
import io.cowherd.operator.pool.DesiredSlots;
import io.cowherd.operator.support.ApiServerHarness;
import io.cowherd.operator.support.Charts;
import io.cowherd.operator.support.Cluster;
import io.cowherd.operator.support.FakeAgent;
import io.cowherd.operator.support.Heartbeat;
import io.cowherd.operator.support.Identity;
import io.cowherd.operator.support.Nodes;
import io.cowherd.operator.support.Operators;
import io.cowherd.operator.support.Pools;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.KubernetesResourceList;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.DaemonSetBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.Operator;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The chart installed with {@code helm install} (helm-java) on a real API server (kube-api-test:
 * RBAC authorization, PodSecurity and OwnerReferencesPermissionEnforcement admission), then the
 * operator and an agent run in-process, each impersonating only its own ServiceAccount: the
 * operator with the configuration parsed from the installed Deployment's arguments, the agent as
 * {@link FakeAgent} (the real agent's API calls, no host) with a {@link Heartbeat} for its node. No
 * controller manager runs: the test writes the Node, nothing garbage-collects, the Deployment and
 * the agent DaemonSet never get pods.
 */
@Tag("apiserver")
class ChartInstallApiTest {
  private static final String NS = "cowherd-system";
  private static final String RELEASE = "cowherd";
  private static final String OPERATOR = "cowherd-operator";
  private static final String AGENT = "cowherd-node-agent";
  private static final String NODE = "node-a";
  private static final Duration TIMEOUT = Duration.ofSeconds(90);

  private static ApiServerHarness harness;
  private static KubernetesClient admin;

  @BeforeAll
  static void installChart() {
    harness = ApiServerHarness.startEmpty();
    admin = harness.client();
    new Helm(Charts.CHART).install()
        .withName(RELEASE)
        .withNamespace(NS)
        .createNamespace()
        .withKubeConfigContents(harness.kubeConfigYaml())
        .withValuesFile(Charts.TEST_VALUES)
        .call();
    admin.resource(Nodes.ready(NODE, Map.of("cowherd.io/boot-server", "true"))).create();
    admin.nodes().withName(NODE).editStatus(n -> {
      n.setStatus(Nodes.ready(NODE).getStatus());
      return n;
    });
  }

  @AfterAll
  static void stopServer() {
    if (harness != null) {
      harness.close();
    }
  }

  @Test
  void operatorAndAgentRunApplyScaleDeleteWithOnlyTheirOwnRights() {
    try (Identity operatorId = Identity.serviceAccount(harness.kubeConfigYaml(), NS, OPERATOR);
        Identity agentId = Identity.serviceAccount(harness.kubeConfigYaml(), NS, AGENT)) {
      OperatorRuntime operator = Operators.startRuntime(operatorId.client(), installedConfig());
      Operator agent = FakeAgent.start(NODE, agentId.client());
      // Slots go only to nodes whose agent renews its Lease; the agent's own Lease rights are tested below.
      Heartbeat heartbeat = Heartbeat.start(admin, NS, NODE, 10);
      try {
        await().atMost(TIMEOUT).until(operator::isLeading);
        new Cluster(admin).createNamespace("lab");
        AoeBootPool pool = Pools.aPool().inNamespace("lab").named("boot").shelf(7).replicas(3).image("/srv/images/debian.img").buildForCreate();
        admin.resource(pool).create();

        await().atMost(TIMEOUT).untilAsserted(() -> {
          AoeBootPool seen = pools().withName("boot").get();
          assertThat(seen.getStatus().getReadyReplicas()).isEqualTo(3);
          assertThat(condition(seen, "Ready")).isEqualTo("True");
        });
        assertThat(slots()).allSatisfy(s -> assertThat(s.getMetadata().getFinalizers()).contains(Names.SLOT_FINALIZER));

        pools().withName("boot").scale(1);
        await().atMost(TIMEOUT).untilAsserted(() -> {
          assertThat(slots()).extracting(s -> s.getSpec().getSlot()).containsExactly(0);
          AoeBootPool seen = pools().withName("boot").get();
          assertThat(seen.getStatus().getReplicas()).isEqualTo(1);
          assertThat(condition(seen, "Ready")).isEqualTo("True");
        });

        pools().withName("boot").delete();
        await().atMost(TIMEOUT).untilAsserted(() -> {
          assertThat(slots()).isEmpty();
          assertThat(pools().withName("boot").get()).isNull();
        });
        assertThat(admin.apps().daemonSets().inNamespace(NS).withName(AGENT).get()).isNotNull();
        assertThat(admin.leases().inNamespace(NS).withName(OPERATOR).get().getSpec().getHolderIdentity()).isNotBlank();
        // The operator writes its Events in the background, after the reconciliation that records them.
        await().atMost(TIMEOUT).untilAsserted(() -> assertThat(admin.v1().events().inNamespace("lab").list().getItems())
            .extracting(e -> e.getReason()).contains("SlotCreated", "SlotDeleted", "SlotServing"));
      } finally {
        heartbeat.stop();
        agent.stop();
        operator.stop();
      }
      assertThat(operatorId.forbiddenRequests()).as("requests of %s answered 403", operatorId.username()).isEmpty();
      assertThat(agentId.forbiddenRequests()).as("requests of %s answered 403", agentId.username()).isEmpty();
    }
  }

  /**
   * The operator creates every slot with the agent's finalizer, so the run above no longer shows the
   * agent adding it. A slot created without it (by an older operator, or by hand) still gets it from
   * the agent, with only the agent's rights and under the chart's admission policy, and loses it again
   * on deletion.
   */
  @Test
  void agentAddsItsFinalizerToASlotCreatedWithoutItWithOnlyItsOwnRights() {
    new Cluster(admin).createNamespace("older");
    admin.resource(Pools.aPool().inNamespace("older").named("boot").shelf(15).replicas(0).buildForCreate()).create();
    AoeBootPool created = admin.resources(AoeBootPool.class).inNamespace("older").withName("boot").get();
    asOperator(c -> c.resource(DesiredSlots.build(created, 0, NODE)).create());
    var slot = admin.resources(AoeBootSlot.class).inNamespace("older").withName("boot-0");
    assertThat(slot.get().getMetadata().getFinalizers()).isEmpty();
    try (Identity agentId = Identity.serviceAccount(harness.kubeConfigYaml(), NS, AGENT)) {
      Operator agent = FakeAgent.start(NODE, agentId.client());
      try {
        await().atMost(TIMEOUT).untilAsserted(() -> {
          assertThat(slot.get().getMetadata().getFinalizers()).containsExactly(Names.SLOT_FINALIZER);
          assertThat(slot.get().getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
        });
        slot.delete();
        await().atMost(TIMEOUT).until(() -> slot.get() == null);
      } finally {
        agent.stop();
      }
      assertThat(agentId.forbiddenRequests()).as("requests of %s answered 403", agentId.username()).isEmpty();
    } finally {
      admin.resources(AoeBootPool.class).inNamespace("older").withName("boot").delete();
    }
  }

  @Test
  void agentIdentityMayOnlyReadPoolsAndIsRefusedEveryOtherKind() {
    new Cluster(admin).createNamespace("refused");
    AoeBootPool pool = Pools.aPool().inNamespace("refused").named("boot").shelf(9).replicas(0).buildForCreate();
    admin.resource(pool).create();
    admin.resource(new ConfigMapBuilder().withNewMetadata().withName("cfg").withNamespace("refused").endMetadata().build()).create();
    AoeBootPool created = admin.resources(AoeBootPool.class).inNamespace("refused").withName("boot").get();
    asOperator(c -> c.resource(DesiredSlots.build(created, 0, NODE)).create());

    try (Identity agentId = Identity.serviceAccount(harness.kubeConfigYaml(), NS, AGENT)) {
      KubernetesClient agent = agentId.client();
      List<Consumer<KubernetesClient>> attempts = List.of(
          c -> c.resources(AoeBootPool.class).inNamespace("refused").withName("boot")
              .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"replicas\":5}}"),
          c -> c.resources(AoeBootPool.class).inNamespace("refused").withName("boot").scale(5),
          c -> c.resources(AoeBootPool.class).inNamespace("refused").withName("boot").delete(),
          c -> c.resources(AoeBootSlot.class).inNamespace("refused").resource(slot("refused")).create(),
          c -> c.resources(AoeBootSlot.class).inNamespace("refused").withName("boot-0").delete(),
          c -> c.resources(AoeBootSlot.class).inNamespace("refused").withName("boot-0")
              .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"image\":\"/srv/images/other.img\"}}"),
          c -> c.resources(AoeBootSlot.class).inNamespace("refused").withName("boot-0")
              .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"labels\":{\"cowherd.io/node\":\"node-b\"}}}"),
          c -> c.nodes().list(),
          c -> c.nodes().withName(NODE).patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"unschedulable\":true}}"),
          c -> c.configMaps().inNamespace("refused").withName("cfg").get(),
          c -> c.secrets().inNamespace(NS).list(),
          c -> c.pods().inAnyNamespace().list(),
          c -> c.pods().inNamespace("refused").resource(new PodBuilder().withNewMetadata().withName("p").endMetadata()
              .withNewSpec().addNewContainer().withName("c").withImage("x").endContainer().endSpec().build()).create(),
          c -> c.apps().daemonSets().inNamespace(NS).list(),
          c -> c.apps().deployments().inNamespace(NS).list(),
          c -> c.leases().inNamespace(NS).list(),
          c -> c.rbac().roles().inNamespace(NS).resource(new RoleBuilder().withNewMetadata().withName("r").endMetadata().build()).create(),
          c -> c.apiextensions().v1().customResourceDefinitions().list());
      List<String> allowed = new ArrayList<>();
      for (int i = 0; i < attempts.size(); i++) {
        try {
          attempts.get(i).accept(agent);
          allowed.add("attempt " + i);
        } catch (KubernetesClientException e) {
          if (e.getCode() != 403) {
            allowed.add("attempt " + i + " failed with " + e.getCode() + " instead of 403: " + e.getMessage());
          }
        }
      }
      assertThat(allowed).as("agent requests not refused with 403").isEmpty();
      // Read-only, for the boot endpoint (which pool enrols automatically).
      assertThat(agent.resources(AoeBootPool.class).inNamespace("refused").withName("boot").get()).isNotNull();
      assertThat(admin.resources(AoeBootPool.class).inNamespace("refused").withName("boot").get().getSpec().getReplicas()).isZero();
      assertThat(admin.resources(AoeBootSlot.class).inNamespace("refused").withName("boot-0").get().getSpec().getImage())
          .isEqualTo(created.getSpec().getImage());
    } finally {
      // Other tests run agents that serve every namespace: leave them no slot of this one.
      admin.resources(AoeBootSlot.class).inNamespace("refused").withName("boot-0").delete();
      admin.resources(AoeBootPool.class).inNamespace("refused").withName("boot").delete();
      await().atMost(TIMEOUT).until(() -> admin.resources(AoeBootSlot.class).inNamespace("refused").list().getItems().isEmpty());
    }
  }

  @Test
  void operatorIdentityIsConfinedToItsNamespaceAndGrantsNothing() {
    new Cluster(admin).createNamespace("elsewhere");
    DaemonSet other = new DaemonSetBuilder(agentDaemonSet()).editMetadata().withName("other")
        .withResourceVersion(null).withUid(null).withManagedFields(List.of()).withCreationTimestamp(null)
        .withGeneration(null).endMetadata().withStatus(null).build();
    admin.resource(other).create();
    AoeBootSlot foreign = slot("elsewhere");
    foreign.getMetadata().setName("x");
    foreign.setSpec(DesiredSlots.build(
        Pools.aPool().inNamespace("elsewhere").named("x").shelf(11).replicas(1).build(), 0, NODE).getSpec());
    asOperator(c -> c.resource(foreign).create());
    try (Identity operatorId = Identity.serviceAccount(harness.kubeConfigYaml(), NS, OPERATOR)) {
      KubernetesClient operator = operatorId.client();
      List<Consumer<KubernetesClient>> attempts = List.of(
          c -> c.apps().daemonSets().inNamespace("elsewhere").resource(new DaemonSetBuilder(other).editMetadata()
              .withNamespace("elsewhere").withResourceVersion(null).withUid(null).endMetadata().build()).create(),
          c -> c.apps().daemonSets().inNamespace(NS).withName("other").patch(PatchContext.of(PatchType.JSON_MERGE),
              "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}"),
          c -> c.apps().daemonSets().inNamespace(NS).withName("other").get(),
          c -> c.apps().daemonSets().inNamespace(NS).withName(AGENT).delete(),
          c -> c.apps().daemonSets().inNamespace(NS).withName(AGENT).get(),
          c -> c.apps().daemonSets().inNamespace(NS).withName(AGENT).patch(PatchContext.of(PatchType.JSON_MERGE),
              "{\"spec\":{\"template\":{\"spec\":{\"hostPID\":false}}}}"),
          c -> c.apps().deployments().inNamespace(NS).list(),
          c -> c.apps().deployments().inNamespace(NS).withName(OPERATOR).patch(PatchContext.of(PatchType.JSON_MERGE),
              "{\"spec\":{\"replicas\":3}}"),
          c -> c.secrets().inNamespace(NS).list(),
          c -> c.pods().inNamespace(NS).list(),
          c -> c.rbac().roles().inNamespace(NS).resource(new RoleBuilder().withNewMetadata().withName("r").endMetadata().build()).create(),
          c -> c.rbac().clusterRoleBindings().list(),
          c -> c.apiextensions().v1().customResourceDefinitions().withName("aoebootpools.cowherd.io").delete(),
          c -> c.leases().inNamespace(NS).withName("someone-else").get(),
          c -> c.leases().inNamespace("elsewhere").list());
      List<String> allowed = new ArrayList<>();
      for (int i = 0; i < attempts.size(); i++) {
        try {
          attempts.get(i).accept(operator);
          allowed.add("attempt " + i);
        } catch (KubernetesClientException e) {
          if (e.getCode() != 403) {
            allowed.add("attempt " + i + " failed with " + e.getCode() + " instead of 403: " + e.getMessage());
          }
        }
      }
      assertThat(allowed).as("operator requests not refused with 403").isEmpty();
    } finally {
      admin.resource(other).delete();
    }
  }

  /**
   * The agent DaemonSet is the release's, not the operator's: Helm created it with every host
   * property the agent needs, nothing owns it (so deleting the operator Deployment cannot
   * garbage-collect it), and a running operator never writes it.
   */
  @Test
  void helmCreatesTheAgentDaemonSetAndTheOperatorNeverTouchesIt() {
    DaemonSet installed = agentDaemonSet();
    assertAgentPod(installed);
    assertThat(installed.getMetadata().getOwnerReferences()).isNullOrEmpty();
    assertThat(installed.getMetadata().getAnnotations()).containsEntry("meta.helm.sh/release-name", RELEASE);

    try (Identity operatorId = Identity.serviceAccount(harness.kubeConfigYaml(), NS, OPERATOR)) {
      OperatorRuntime operator = Operators.startRuntime(operatorId.client(), installedConfig());
      try {
        await().atMost(TIMEOUT).until(operator::isLeading);
        await().during(Duration.ofSeconds(3)).atMost(TIMEOUT).untilAsserted(() -> {
          DaemonSet now = agentDaemonSet();
          assertThat(now.getMetadata().getResourceVersion()).isEqualTo(installed.getMetadata().getResourceVersion());
        });
      } finally {
        operator.stop();
      }
      assertThat(operatorId.forbiddenRequests()).as("requests of %s answered 403", operatorId.username()).isEmpty();
    }
  }

  @Test
  void podSecurityAdmitsTheOperatorPodAsRestrictedAndTheAgentPodOnlyAsPrivileged() {
    for (String level : List.of("restricted", "privileged")) {
      admin.resource(new NamespaceBuilder().withNewMetadata().withName("psa-" + level)
          .withLabels(Map.of("pod-security.kubernetes.io/enforce", level)).endMetadata().build()).serverSideApply();
    }
    PodTemplateSpec operatorPod = admin.apps().deployments().inNamespace(NS).withName(OPERATOR).get().getSpec().getTemplate();
    PodTemplateSpec agentPod = agentDaemonSet().getSpec().getTemplate();

    createPod("psa-restricted", "operator", operatorPod);
    assertThatThrownBy(() -> createPod("psa-restricted", "agent", agentPod))
        .isInstanceOf(KubernetesClientException.class)
        .hasMessageContaining("violates PodSecurity \"restricted:latest\"")
        .hasMessageContaining("privileged")
        .hasMessageContaining("hostPath")
        .hasMessageContaining("hostPID=true");
    createPod("psa-privileged", "agent", agentPod);
    assertThat(admin.pods().inNamespace("psa-privileged").withName("agent").get().getSpec().getPriority())
        .as("system-node-critical resolved by the Priority admission plugin outside kube-system").isEqualTo(2000001000);
  }

  @Test
  void onlyTheOperatorCreatesSlotsChangesTheirSpecOrSetsTheReclaimMarkAnyoneMayDeleteThem() {
    new Cluster(admin).createNamespace("guarded");
    AoeBootPool pool = Pools.aPool().inNamespace("guarded").named("boot").shelf(13).replicas(0).buildForCreate();
    admin.resource(pool).create();
    AoeBootPool created = admin.resources(AoeBootPool.class).inNamespace("guarded").withName("boot").get();
    AoeBootSlot slot = DesiredSlots.build(created, 0, NODE);
    var guarded = admin.resources(AoeBootSlot.class).inNamespace("guarded").withName("boot-0");
    Config userConfig = new ConfigBuilder(Config.fromKubeconfig(harness.kubeConfigYaml()))
        .withImpersonateUsername("jane").withImpersonateGroups("system:masters", "system:authenticated").build();

    try (KubernetesClient user = new KubernetesClientBuilder().withConfig(userConfig).build()) {
      for (KubernetesClient c : List.of(user, admin)) {
        assertThatThrownBy(() -> c.resource(DesiredSlots.build(created, 0, NODE)).create())
            .as("create by a cluster admin")
            .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403))
            .hasMessageContaining("only the cowherd operator (system:serviceaccount:cowherd-system:cowherd-operator) creates slots");
      }
      asOperator(c -> c.resource(slot).create());
      List<String> refusedEdits = List.of(
          "{\"spec\":{\"interface\":\"eth9\"}}",
          "{\"spec\":{\"shelf\":14}}",
          "{\"spec\":{\"image\":\"/srv/images/other.img\"}}",
          "{\"spec\":{\"rebuild\":\"reset-by-hand\"}}",
          "{\"spec\":{\"cow\":{\"backend\":\"reflink\"}}}",
          "{\"spec\":{\"cow\":null}}",
          "{\"metadata\":{\"labels\":{\"cowherd.io/node\":\"node-b\"}}}",
          "{\"metadata\":{\"labels\":{\"cowherd.io/pool\":null}}}",
          "{\"metadata\":{\"annotations\":{\"cowherd.io/reclaim\":\"Delete\"}}}",
          "{\"metadata\":{\"annotations\":{\"cowherd.io/reclaim\":\"Retain\"}}}");
      for (KubernetesClient c : List.of(user, admin)) {
        for (String patch : refusedEdits) {
          assertThatThrownBy(() -> c.resources(AoeBootSlot.class).inNamespace("guarded").withName("boot-0")
                  .patch(PatchContext.of(PatchType.JSON_MERGE), patch))
              .as("patch %s", patch)
              .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403))
              .hasMessageContaining("only the cowherd operator");
        }
      }
      assertThat(guarded.get().getSpec()).isEqualTo(slot.getSpec());

      user.resources(AoeBootSlot.class).inNamespace("guarded").withName("boot-0")
          .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"labels\":{\"team\":\"lab\"},"
              + "\"annotations\":{\"note\":\"hand-checked\",\"cowherd.io/reset-requested\":\"20261202T1400Z\"}}}");
      asOperator(c -> c.resources(AoeBootSlot.class).inNamespace("guarded").withName("boot-0")
          .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"interface\":\"eth2\"}}"));
      assertThat(guarded.get().getSpec().getInterface()).as("the operator may change the spec").isEqualTo("eth2");
      assertThat(guarded.get().getMetadata().getLabels()).containsEntry("team", "lab");
      assertThat(guarded.get().getMetadata().getAnnotations()).as("anyone may ask for a reset")
          .containsEntry("cowherd.io/reset-requested", "20261202T1400Z");

      user.resources(AoeBootSlot.class).inNamespace("guarded").withName("boot-0").delete();
      await().atMost(TIMEOUT).until(() -> guarded.get() == null);
    }
  }

  /**
   * RBAC lets the agent create any client and patch any client's status; the chart's policy
   * {@code cowherd-node-agent-client-writes} narrows that to enrollment (a client named after its
   * own MAC, labelled, no pin, host name or kernel arguments) and {@code status.boot}.
   */
  @Test
  void agentMayEnrolClientsNamedAfterTheirMacAndWriteOnlyStatusBoot() {
    new Cluster(admin).createNamespace("enrol");
    try (Identity agentId = Identity.serviceAccount(harness.kubeConfigYaml(), NS, AGENT)) {
      KubernetesClient agent = agentId.client();
      agent.resource(client("mac-525400e0e001", "52:54:00:E0:E0:01", true, null)).create();
      for (AoeBootClient refused : List.of(
          client("desk", "52:54:00:e0:e0:02", true, null),
          client("mac-525400e0e003", "52:54:00:e0:e0:03", false, null),
          client("mac-525400e0e004", "52:54:00:e0:e0:04", true, 3))) {
        assertThatThrownBy(() -> agent.resource(refused).create()).as(refused.getMetadata().getName())
            .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));
      }
      var status = agent.resources(AoeBootClient.class).inNamespace("enrol").withName("mac-525400e0e001")
          .subresource("status");
      status.patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"boot\":{\"stage\":\"ScriptServed\"}}}");
      status.patch(PatchContext.of(PatchType.JSON_MERGE),
          "{\"status\":{\"boot\":{\"stage\":\"UpdateRequested\",\"updateRequestedAt\":\"2026-12-02T14:00:00Z\"}}}");
      assertThatThrownBy(() -> status.patch(PatchContext.of(PatchType.JSON_MERGE),
              "{\"status\":{\"slot\":0,\"target\":\"e9.0\"}}"))
          .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));
      assertThatThrownBy(() -> agent.resources(AoeBootClient.class).inNamespace("enrol").withName("mac-525400e0e001")
              .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"slot\":1}}"))
          .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));
      AoeBootClient seen = admin.resources(AoeBootClient.class).inNamespace("enrol").withName("mac-525400e0e001").get();
      assertThat(seen.getStatus().getBoot().getStage()).isEqualTo("UpdateRequested");
      assertThat(seen.getStatus().getBoot().getUpdateRequestedAt()).isEqualTo("2026-12-02T14:00:00Z");
      assertThat(seen.getStatus().getSlot()).isNull();
      assertThat(seen.getSpec().getSlot()).isNull();
    }
  }

  private static AoeBootClient client(String name, String mac, boolean labelled, Integer slot) {
    AoeBootClient c = new AoeBootClient();
    c.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withNamespace("enrol").withName(name)
        .withLabels(labelled ? Map.of(Names.ENROLLED_BY_LABEL, NODE) : Map.of()).build());
    AoeBootClientSpec spec = new AoeBootClientSpec();
    spec.setMac(mac);
    spec.setPool("boot");
    spec.setSlot(slot);
    c.setSpec(spec);
    return c;
  }

  @Test
  void agentMayCreateAndRenewHeartbeatLeasesInItsNamespaceOnlyAndOperatorMayWatchThem() {
    try (Identity agentId = Identity.serviceAccount(harness.kubeConfigYaml(), NS, AGENT);
        Identity operatorId = Identity.serviceAccount(harness.kubeConfigYaml(), NS, OPERATOR)) {
      KubernetesClient agent = agentId.client();
      String name = Names.agentLeaseName("node-hb");
      agent.leases().inNamespace(NS).resource(new LeaseBuilder().withNewMetadata().withName(name).withNamespace(NS)
          .withLabels(Names.agentLeaseLabels()).endMetadata().withNewSpec().withHolderIdentity("node-hb")
          .withLeaseDurationSeconds(40).withRenewTime(ZonedDateTime.now(ZoneOffset.UTC)).endSpec().build()).create();
      Lease seen = agent.leases().inNamespace(NS).withName(name).get();
      seen.getSpec().setRenewTime(ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(1));
      agent.leases().inNamespace(NS).resource(seen).update();
      assertThat(agentId.forbiddenRequests()).isEmpty();

      assertThatThrownBy(() -> agent.leases().inNamespace("default").resource(new LeaseBuilder().withNewMetadata()
              .withName(name).withNamespace("default").endMetadata().build()).create())
          .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));
      assertThatThrownBy(() -> agent.leases().inNamespace(NS).withName(name).delete())
          .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));

      assertThat(operatorId.client().leases().inNamespace(NS).withLabels(Names.agentLeaseLabels()).list().getItems())
          .extracting(l -> l.getSpec().getHolderIdentity()).contains("node-hb");
      // Before reporting an agent silent the operator re-reads its Lease (a list by name: no get right needed).
      assertThat(AgentHeartbeats.LeaseReader.of(operatorId.client()).read(NS, name))
          .hasValueSatisfying(l -> assertThat(l.getSpec().getRenewTime())
              .isEqualTo(admin.leases().inNamespace(NS).withName(name).get().getSpec().getRenewTime()));
      assertThat(operatorId.forbiddenRequests()).isEmpty();
    }
  }

  /**
   * The agent's Lease rights (get, create, update in the release namespace) cannot be limited to
   * names by RBAC (the names follow the nodes): without admission, any node's agent could take the
   * operator's leader-election Lease (same namespace) or create it first, and no operator replica
   * would lead. The agent may write only heartbeat Leases ({@link Names#AGENT_LEASE_PREFIX}).
   */
  @Test
  void agentCannotTakeOrPreemptTheOperatorsLeaderElectionLease() {
    String leaderLease = OPERATOR + "-" + "breaker"; // a Lease the operator would hold, not the live one
    admin.leases().inNamespace(NS).resource(new LeaseBuilder().withNewMetadata().withName(OPERATOR + "-held")
        .withNamespace(NS).endMetadata().withNewSpec().withHolderIdentity("operator-pod").withLeaseDurationSeconds(15)
        .withRenewTime(ZonedDateTime.now(ZoneOffset.UTC)).endSpec().build()).create();
    try (Identity agentId = Identity.serviceAccount(harness.kubeConfigYaml(), NS, AGENT)) {
      KubernetesClient agent = agentId.client();
      // An admission policy takes effect a moment after it is created: wait for the first refusal.
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        try {
          agent.leases().inNamespace(NS).resource(new LeaseBuilder().withNewMetadata().withName(leaderLease)
              .withNamespace(NS).endMetadata().withNewSpec().withHolderIdentity("node-a")
              .withLeaseDurationSeconds(3600).endSpec().build()).create();
        } catch (KubernetesClientException e) {
          assertThat(e.getCode()).as(e.getMessage()).isEqualTo(403);
          return;
        }
        admin.leases().inNamespace(NS).withName(leaderLease).withGracePeriod(0).delete();
        throw new AssertionError("the agent created Lease " + leaderLease);
      });
      Lease held = agent.leases().inNamespace(NS).withName(OPERATOR + "-held").get();
      held.getSpec().setHolderIdentity("node-a");
      assertThatThrownBy(() -> agent.leases().inNamespace(NS).resource(held).update())
          .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));
      assertThat(admin.leases().inNamespace(NS).withName(OPERATOR + "-held").get().getSpec().getHolderIdentity())
          .isEqualTo("operator-pod");
      assertThat(admin.leases().inNamespace(NS).withName(leaderLease).get()).isNull();

      String own = Names.agentLeaseName("node-own");
      agent.leases().inNamespace(NS).resource(new LeaseBuilder().withNewMetadata().withName(own).withNamespace(NS)
          .withLabels(Names.agentLeaseLabels()).endMetadata().withNewSpec().withHolderIdentity("node-own")
          .withLeaseDurationSeconds(40).withRenewTime(ZonedDateTime.now(ZoneOffset.UTC)).endSpec().build()).create();
      assertThat(own).startsWith(Names.AGENT_LEASE_PREFIX);
    } finally {
      admin.leases().inNamespace(NS).withName(OPERATOR + "-held").delete();
    }
  }

  // --- helpers -------------------------------------------------------------------------------

  /** The operator configuration the installed chart passes: its Deployment's arguments, parsed. */
  private static OperatorConfig installedConfig() {
    Deployment deployment = admin.apps().deployments().inNamespace(NS).withName(OPERATOR).get();
    List<String> args = new ArrayList<>(container(deployment.getSpec().getTemplate().getSpec()).getArgs());
    args.add("--operator-namespace=" + NS);
    return OperatorCommand.parse(args.toArray(String[]::new)).orElseThrow();
  }

  private static DaemonSet agentDaemonSet() {
    return admin.apps().daemonSets().inNamespace(NS).withName(AGENT).get();
  }

  private static void assertAgentPod(DaemonSet ds) {
    PodSpec pod = ds.getSpec().getTemplate().getSpec();
    Container c = container(pod);
    assertThat(c.getImage()).isEqualTo("registry.test/cowherd/cowherd-node-agent:" + ChartRenderTest.appVersion());
    assertThat(pod.getServiceAccountName()).isEqualTo(AGENT);
    assertThat(pod.getHostNetwork()).isTrue();
    assertThat(pod.getHostPID()).isTrue();
    assertThat(pod.getPriorityClassName()).isEqualTo("system-node-critical");
    assertThat(pod.getNodeSelector()).containsEntry("cowherd.io/boot-server", "true").containsEntry("kubernetes.io/os", "linux");
    assertThat(pod.getTolerations()).singleElement().satisfies(t -> {
      assertThat(t.getKey()).isEqualTo("cowherd.io/boot-server");
      assertThat(t.getOperator()).isEqualTo("Exists");
    });
    assertThat(c.getSecurityContext().getPrivileged()).isTrue();
    assertThat(c.getEnv()).anySatisfy(e -> {
      assertThat(e.getName()).isEqualTo("NODE_NAME");
      assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("spec.nodeName");
    });
    Map<String, String> hostPaths = pod.getVolumes().stream().filter(v -> v.getHostPath() != null)
        .collect(Collectors.toMap(Volume::getName, v -> v.getHostPath().getPath()));
    Map<String, VolumeMount> mounts = c.getVolumeMounts().stream().collect(Collectors.toMap(VolumeMount::getName, m -> m));
    assertThat(hostPaths).containsEntry("dev", "/dev").containsEntry("state", "/var/lib/cowherd")
        .containsEntry("image-root-0", "/srv/images");
    assertThat(mounts.get("dev").getMountPath()).isEqualTo("/dev");
    assertThat(mounts.get("state").getMountPath()).isEqualTo("/var/lib/cowherd");
    assertThat(mounts.get("state").getReadOnly()).isNotEqualTo(Boolean.TRUE);
    assertThat(mounts.get("image-root-0").getMountPath()).isEqualTo("/srv/images");
    assertThat(mounts.get("image-root-0").getReadOnly()).isTrue();
    assertThat(hostPaths).containsEntry("cgroup", "/sys/fs/cgroup");
    assertThat(mounts.get("cgroup").getMountPath()).isEqualTo("/host/sys/fs/cgroup");
    assertThat(c.getArgs()).containsExactly("--state-dir=/var/lib/cowherd", "--image-root=/srv/images",
        "--host-cgroup-root=/host/sys/fs/cgroup");
    assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
    assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
    assertThat(c.getPorts()).singleElement().satisfies(p -> assertThat(p.getContainerPort()).isEqualTo(9810));
    assertThat(c.getResources().getRequests()).containsKeys("cpu", "memory");
  }

  private static Container container(PodSpec pod) {
    return pod.getContainers().getFirst();
  }

  private static Container container(DaemonSet ds) {
    return container(ds.getSpec().getTemplate().getSpec());
  }

  private static void createPod(String namespace, String name, PodTemplateSpec template) {
    admin.pods().inNamespace(namespace).resource(new PodBuilder()
        .withNewMetadata().withName(name).withLabels(template.getMetadata().getLabels()).endMetadata()
        .withSpec(template.getSpec())
        .build()).create();
  }

  private static NonNamespaceOperation<AoeBootPool, KubernetesResourceList<AoeBootPool>, Resource<AoeBootPool>> pools() {
    return admin.resources(AoeBootPool.class).inNamespace("lab");
  }

  private static List<AoeBootSlot> slots() {
    return admin.resources(AoeBootSlot.class).inNamespace("lab").list().getItems().stream()
        .sorted(Comparator.comparing(s -> s.getSpec().getSlot())).toList();
  }

  /** Runs {@code action} as the operator's ServiceAccount (the only identity allowed to create slots). */
  private static void asOperator(Consumer<KubernetesClient> action) {
    try (Identity operatorId = Identity.serviceAccount(harness.kubeConfigYaml(), NS, OPERATOR)) {
      action.accept(operatorId.client());
    }
  }

  private static AoeBootSlot slot(String namespace) {
    AoeBootSlot slot = new AoeBootSlot();
    slot.setMetadata(new ObjectMetaBuilder().withName("boot-0").withNamespace(namespace).build());
    return slot;
  }

  private static String condition(AoeBootPool pool, String type) {
    return pool.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst()
        .map(c -> c.getStatus()).orElse("missing");
  }
}
