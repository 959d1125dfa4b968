package io.cowherd.operator.chart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.marcnuri.helm.Helm;
import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.operator.pool.DesiredSlots;
import io.cowherd.operator.support.ApiServerHarness;
import io.cowherd.operator.support.Charts;
import io.cowherd.operator.support.Cluster;
import io.cowherd.operator.support.Identity;
import io.cowherd.operator.support.Pools;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.DaemonSetBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code helm install}, {@code helm upgrade} to a chart whose CRD schema changed, and {@code helm
 * uninstall}, against a real API server: the upgrade updates the CRD in place (the chart renders
 * CRDs as templates), the agent DaemonSet is the release's (deleting the operator Deployment and
 * bringing it back with {@code helm upgrade} keeps the same DaemonSet; an upgrade with a changed agent
 * setting changes its pod template in place), and uninstall removes the operator's objects and the
 * DaemonSet but keeps the CRDs, the pools and the slots, so no slot is deleted and no node agent
 * tears down a COW store.
 */
@Tag("apiserver")
class ChartUpgradeApiTest {
  private static final String NS = "cowherd-system";
  private static final String POOLS_CRD = "aoebootpools.cowherd.io";
  private static final String AGENT = "cowherd-node-agent";

  @Test
  void upgradeUpdatesTheCrdSchemaAndUninstallLeavesPoolsSlotsAndCowDataAlone(@TempDir Path dir) throws IOException {
    try (ApiServerHarness harness = ApiServerHarness.startEmpty()) {
      KubernetesClient admin = harness.client();
      Path chart = Charts.copyChart(dir);
      new Helm(chart).install().withName("cowherd").withNamespace(NS).createNamespace()
          .withKubeConfigContents(harness.kubeConfigYaml()).withValuesFile(Charts.TEST_VALUES.toAbsolutePath()).call();
      assertThat(specProperties(admin)).doesNotContainKey("upgradeMarker");
      servingSlotOfPool(admin, harness.kubeConfigYaml());
      DaemonSet installed = admin.apps().daemonSets().inNamespace(NS).withName(AGENT).get();
      assertThat(installed.getMetadata().getOwnerReferences())
          .as("nothing owns it: deleting the operator cannot garbage-collect the agents").isNullOrEmpty();

      // The operator Deployment deleted (by hand, or by a failed upgrade) and brought back by `helm upgrade`.
      admin.apps().deployments().inNamespace(NS).withName("cowherd-operator").delete();
      await().atMost(Duration.ofSeconds(30)).until(() ->
          admin.apps().deployments().inNamespace(NS).withName("cowherd-operator").get() == null);
      assertThat(admin.apps().daemonSets().inNamespace(NS).withName(AGENT).get().getMetadata().getUid())
          .isEqualTo(installed.getMetadata().getUid());

      addSpecPropertyToPoolCrd(chart, "upgradeMarker");
      bumpChartVersion(chart, "0.1.1");
      new Helm(chart).upgrade().withName("cowherd").withNamespace(NS)
          .withKubeConfigContents(harness.kubeConfigYaml()).withValuesFile(Charts.TEST_VALUES.toAbsolutePath())
          .set("logging.level", "DEBUG").call();

      assertThat(admin.apps().deployments().inNamespace(NS).withName("cowherd-operator").get()).isNotNull();
      DaemonSet upgraded = admin.apps().daemonSets().inNamespace(NS).withName(AGENT).get();
      assertThat(upgraded.getMetadata().getUid()).as("updated in place, never recreated").isEqualTo(installed.getMetadata().getUid());
      assertThat(upgraded.getMetadata().getGeneration()).isGreaterThan(installed.getMetadata().getGeneration());
      assertThat(upgraded.getSpec().getTemplate().getSpec().getContainers().getFirst().getEnv())
          .anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("COWHERD_LOG_LEVEL");
            assertThat(e.getValue()).isEqualTo("DEBUG");
          });

      assertThat(specProperties(admin)).containsKey("upgradeMarker");
      Cluster.mergePatch(admin.genericKubernetesResources("cowherd.io/v1alpha1", "AoeBootPool").inNamespace("keep")
          .withName("boot"), Map.of("spec", Map.of("upgradeMarker", "v2")));
      GenericKubernetesResource stored = admin.genericKubernetesResources("cowherd.io/v1alpha1", "AoeBootPool")
          .inNamespace("keep").withName("boot").get();
      assertThat(((Map<?, ?>) stored.getAdditionalProperties().get("spec")).get("upgradeMarker"))
          .as("field of the new schema is stored, not pruned").isEqualTo("v2");
      assertThat(admin.apiextensions().v1().customResourceDefinitions().withName(POOLS_CRD).get().getMetadata().getLabels())
          .containsEntry("helm.sh/chart", "cowherd-0.1.1");

      Helm.uninstall("cowherd").withNamespace(NS).withKubeConfigContents(harness.kubeConfigYaml()).call();

      assertThat(admin.apps().deployments().inNamespace(NS).withName("cowherd-operator").get()).isNull();
      assertThat(admin.apps().daemonSets().inNamespace(NS).withName(AGENT).get()).isNull();
      assertThat(admin.serviceAccounts().inNamespace(NS).list().getItems())
          .extracting(sa -> sa.getMetadata().getName()).doesNotContain("cowherd-operator", "cowherd-node-agent");
      assertThat(admin.rbac().clusterRoles().withName("cowherd-operator").get()).isNull();
      assertThat(admin.rbac().clusterRoles().withName("cowherd-node-agent").get()).isNull();
      assertThat(admin.rbac().clusterRoleBindings().withName("cowherd-node-agent").get()).isNull();
      assertThat(admin.rbac().roles().inNamespace(NS).withName("cowherd-operator").get()).isNull();
      assertThat(admin.services().inNamespace(NS).list().getItems()).isEmpty();
      assertThat(admin.secrets().inNamespace(NS).list().getItems())
          .noneMatch(s -> s.getMetadata().getName().startsWith("sh.helm.release.v1.cowherd."));

      assertThat(admin.apiextensions().v1().customResourceDefinitions().withName(POOLS_CRD).get()).isNotNull();
      assertThat(admin.apiextensions().v1().customResourceDefinitions().withName("aoebootslots.cowherd.io").get()).isNotNull();
      assertThat(admin.genericKubernetesResources("cowherd.io/v1alpha1", "AoeBootPool").inNamespace("keep").withName("boot")
          .get()).isNotNull();
      AoeBootSlot slot = admin.resources(AoeBootSlot.class).inNamespace("keep").withName("boot-0").get();
      assertThat(slot.getMetadata().getDeletionTimestamp()).as("slot deletion would make its agent remove the COW store").isNull();
      assertThat(slot.getMetadata().getFinalizers()).contains(Names.SLOT_FINALIZER);
      assertThat(slot.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
    }
  }

  /**
   * The adoption steps docs/install.md gives for a DaemonSet the operator made (owner reference to
   * the operator Deployment, no Helm metadata): without them Helm refuses to take it over; with
   * them it updates the same object in place (same UID, so its pods are replaced by a rolling
   * update, never all deleted at once).
   */
  @Test
  void anOperatorMadeDaemonSetIsAdoptedInPlaceByTheDocumentedSteps() {
    try (ApiServerHarness harness = ApiServerHarness.startEmpty()) {
      KubernetesClient admin = harness.client();
      new Cluster(admin).createNamespace(NS);
      DaemonSet rendered = Charts.find(Charts.template("cowherd", NS, t -> t.withValuesFile(Charts.TEST_VALUES)),
          DaemonSet.class, AGENT);
      DaemonSet legacy = new DaemonSetBuilder(rendered)
          .editMetadata()
          .withLabels(Map.of("app.kubernetes.io/name", "cowherd-node-agent", "app.kubernetes.io/instance", AGENT,
              "app.kubernetes.io/component", "node-agent", "app.kubernetes.io/managed-by", "cowherd-operator"))
          .withAnnotations(null)
          .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("apps/v1").withKind("Deployment")
              .withName("cowherd-operator").withUid("00000000-0000-0000-0000-000000000001").withController(true)
              .withBlockOwnerDeletion(true).build())
          .endMetadata()
          .editSpec().editTemplate().editSpec().withHostPID(false).endSpec().endTemplate().endSpec()
          .build();
      String uid = admin.resource(legacy).create().getMetadata().getUid();

      assertThatThrownBy(() -> install(harness))
          .hasMessageContaining("DaemonSet \"" + AGENT + "\"")
          .hasMessageContaining("cannot be imported");

      var ds = admin.apps().daemonSets().inNamespace(NS).withName(AGENT);
      ds.patch(PatchContext.of(PatchType.JSON), "[{\"op\":\"remove\",\"path\":\"/metadata/ownerReferences\"}]");
      Cluster.mergePatch(ds, Map.of("metadata", Map.of(
          "labels", Map.of("app.kubernetes.io/managed-by", "Helm"),
          "annotations", Map.of("meta.helm.sh/release-name", "cowherd", "meta.helm.sh/release-namespace", NS))));
      install(harness);

      DaemonSet adopted = ds.get();
      assertThat(adopted.getMetadata().getUid()).isEqualTo(uid);
      assertThat(adopted.getMetadata().getOwnerReferences()).isNullOrEmpty();
      assertThat(adopted.getSpec().getTemplate().getSpec().getHostPID()).isTrue();
    }
  }

  private static void install(ApiServerHarness harness) {
    new Helm(Charts.CHART).install().withName("cowherd").withNamespace(NS)
        .withKubeConfigContents(harness.kubeConfigYaml()).withValuesFile(Charts.TEST_VALUES).call();
  }

  /** A pool with one slot as a running system has it: agent finalizer, phase Serving. */
  private static void servingSlotOfPool(KubernetesClient admin, String kubeConfig) {
    Cluster cluster = new Cluster(admin);
    cluster.createNamespace("keep");
    AoeBootPool pool = Pools.aPool().inNamespace("keep").named("boot").shelf(3).replicas(1).buildForCreate();
    AoeBootPool created = admin.resource(pool).create();
    AoeBootSlot slot = DesiredSlots.build(created, 0, "node-a");
    // Only the operator's ServiceAccount may create slots (admission policy of the chart).
    try (Identity operator = Identity.serviceAccount(kubeConfig, NS, "cowherd-operator")) {
      operator.client().resource(slot).create();
    }
    cluster.addAgentFinalizer("keep", "boot-0");
    cluster.setSlotPhase("keep", "boot-0", SlotPhase.Serving, null);
  }

  private static Map<String, JSONSchemaProps> specProperties(KubernetesClient admin) {
    CustomResourceDefinition crd = admin.apiextensions().v1().customResourceDefinitions().withName(POOLS_CRD).get();
    return crd.getSpec().getVersions().getFirst().getSchema().getOpenAPIV3Schema().getProperties().get("spec").getProperties();
  }

  @SuppressWarnings("unchecked")
  private static void addSpecPropertyToPoolCrd(Path chart, String property) throws IOException {
    Path file = chart.resolve("files/crds/" + POOLS_CRD + "-v1.yml");
    Map<String, Object> crd = Serialization.unmarshal(Files.readString(file), Map.class);
    Map<String, Object> version = ((List<Map<String, Object>>) ((Map<String, Object>) crd.get("spec")).get("versions")).getFirst();
    Map<String, Object> spec = (Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>)
        version.get("schema")).get("openAPIV3Schema")).get("properties")).get("spec");
    Map<String, Object> properties = new LinkedHashMap<>((Map<String, Object>) spec.get("properties"));
    properties.put(property, Map.of("type", "string", "description", "Added by the chart upgrade test."));
    spec.put("properties", properties);
    Files.writeString(file, Serialization.asYaml(crd));
  }

  private static void bumpChartVersion(Path chart, String version) throws IOException {
    Path file = chart.resolve("Chart.yaml");
    Files.writeString(file, Files.readString(file).replaceFirst("(?m)^version: .*$", "version: " + version));
  }

}
