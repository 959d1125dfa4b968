package io.cowherd.operator.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.cowherd.api.Names;
import io.cowherd.api.SlotOrigins;
import io.cowherd.api.SlotReclaim;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootClientSpec;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.ReclaimPolicy;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.operator.error.SlotWriteException;
import io.cowherd.operator.node.NodeGoneSlotReleaser;
import io.cowherd.operator.node.NodeLivenessWriter;
import io.cowherd.operator.support.ApiServerExtension;
import io.cowherd.operator.support.ApiServerHarness;
import io.cowherd.operator.support.Cluster;
import io.cowherd.operator.support.Operators;
import io.cowherd.operator.support.Pools;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.KubernetesResourceList;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.Operator;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The operator in-process against a real kube-apiserver + etcd: no controller manager (no garbage
 * collector), no scheduler, no kubelet, no node agent. Node objects are written by the test; the
 * agent is simulated by writing slot status and the {@code cowherd.io/host-cleanup} finalizer.
 * Every test uses its own namespace and shelf, since target conflicts are cluster-wide.
 */
@Tag("apiserver")
@ExtendWith(ApiServerExtension.class)
class PoolReconcilerApiTest {
  private static final String NODE = "node-a";
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static KubernetesClient client;
  private static Operator operator;
  private static Cluster cluster;

  @BeforeAll
  static void startOperator(ApiServerHarness harness) {
    client = harness.client();
    cluster = new Cluster(client);
    cluster.createReadyNode(NODE);
    operator = Operators.startPoolReconciler(client);
  }

  @AfterAll
  static void stopOperator() {
    if (operator != null) {
      operator.stop();
    }
    // Other test classes on the shared API server place slots on any Ready Node they see.
    client.nodes().withName(NODE).delete();
  }

  @Test
  void poolGetsPlacedSlotsAndReportsStatus() {
    AoeBootPool pool = createPool("create", "boot", 100, 3, p -> p.cow(CowBackend.DM_SNAPSHOT, 128));

    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slotNumbers("create", "boot")).containsExactly(0, 1, 2));
    for (AoeBootSlot slot : slots("create", "boot")) {
      int n = slot.getSpec().getSlot();
      assertThat(slot.getMetadata().getName()).isEqualTo("boot-" + n);
      assertThat(slot.getSpec().getPool()).isEqualTo("boot");
      assertThat(slot.getSpec().getShelf()).isEqualTo(100);
      assertThat(slot.getSpec().getNodeName()).isEqualTo(NODE);
      assertThat(slot.getSpec().getImage()).isEqualTo("/srv/images/origin.img");
      assertThat(slot.getSpec().getInterface()).isEqualTo("eth0");
      assertThat(slot.getSpec().getCow().getChunkSectors()).isEqualTo(128);
      assertThat(slot.getMetadata().getLabels()).containsAllEntriesOf(Names.slotLabels("boot", n, NODE));
      OwnerReference owner = slot.getMetadata().getOwnerReferences().getFirst();
      assertThat(owner.getUid()).isEqualTo(pool.getMetadata().getUid());
      assertThat(owner.getKind()).isEqualTo("AoeBootPool");
      assertThat(owner.getController()).isTrue();
      assertThat(owner.getBlockOwnerDeletion()).isTrue();
    }
    await().atMost(TIMEOUT).untilAsserted(() -> {
      AoeBootPool seen = pool("create", "boot");
      assertThat(seen.getMetadata().getFinalizers()).contains(PoolReconciler.FINALIZER);
      assertThat(seen.getStatus().getObservedGeneration()).isEqualTo(seen.getMetadata().getGeneration());
      assertThat(seen.getStatus().getReplicas()).isEqualTo(3);
      assertThat(seen.getStatus().getReadyReplicas()).isZero();
      assertThat(seen.getStatus().getSelector()).isEqualTo("cowherd.io/pool=boot");
      assertCondition(seen, "Ready", "False", "SlotsNotServing");
      assertCondition(seen, "Progressing", "True", "SlotsProvisioning");
      assertCondition(seen, "Degraded", "False", "SlotsHealthy");
      assertCondition(seen, "Conflict", "False", "NoConflict");
    });

    for (int n = 0; n < 3; n++) {
      cluster.setSlotPhase("create", "boot-" + n, SlotPhase.Serving, null);
    }
    await().atMost(TIMEOUT).untilAsserted(() -> {
      AoeBootPool seen = pool("create", "boot");
      assertThat(seen.getStatus().getReadyReplicas()).isEqualTo(3);
      assertCondition(seen, "Ready", "True", "AllSlotsServing");
      assertCondition(seen, "Progressing", "False", "SlotsSettled");
    });

    cluster.setSlotPhase("create", "boot-1", SlotPhase.Failed, "vblade exited with code 1");
    await().atMost(TIMEOUT).untilAsserted(() -> {
      Condition degraded = condition(pool("create", "boot"), "Degraded");
      assertThat(degraded.getReason()).isEqualTo("SlotFailed");
      assertThat(degraded.getMessage()).isEqualTo("boot-1 (e100.1): vblade exited with code 1");
    });
    // Events are written in the background, after the reconciliation that records them.
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(eventReasons("create", "boot")).contains("SlotCreated"));
  }

  /**
   * The operator creates each slot with the agent's finalizer, so the agent's first reconcile serves
   * at once instead of adding it first; a later spec update (server-side apply) sends no finalizers,
   * so the operator's apply manager never owns the agent's finalizer.
   */
  @Test
  void slotsAreCreatedWithTheAgentFinalizerWhichNoUpdateTakesOver() {
    createPool("fresh", "boot", 317, 1, p -> p);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slotNumbers("fresh", "boot")).containsExactly(0));
    AoeBootSlot created = slot("fresh", "boot-0");
    assertThat(created.getMetadata().getFinalizers()).as("from its first write").containsExactly(Names.SLOT_FINALIZER);
    assertThat(created.getMetadata().getGeneration()).isOne();

    Cluster.mergePatch(pools("fresh").withName("boot"), Map.of("spec", Map.of("interface", "enp3s0")));

    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slot("fresh", "boot-0").getSpec().getInterface()).isEqualTo("enp3s0"));
    AoeBootSlot updated = slot("fresh", "boot-0");
    assertThat(updated.getMetadata().getUid()).isEqualTo(created.getMetadata().getUid());
    assertThat(updated.getMetadata().getFinalizers()).containsExactly(Names.SLOT_FINALIZER);
    assertThat(updated.getMetadata().getManagedFields())
        .filteredOn(m -> SlotSetExecutor.FIELD_MANAGER.equals(m.getManager()) && "Apply".equals(m.getOperation()))
        .singleElement()
        .satisfies(m -> assertThat(Serialization.asJson(m.getFieldsV1())).contains("f:spec").doesNotContain("f:finalizers"));
  }

  @Test
  void specChangeUpdatesSlotsInPlace() {
    createPool("update", "boot", 300, 2, p -> p);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slotNumbers("update", "boot")).containsExactly(0, 1));
    List<String> uids = slots("update", "boot").stream().map(s -> s.getMetadata().getUid()).toList();

    Cluster.mergePatch(pools("update").withName("boot"), Map.of("spec", Map.of("image", "/srv/images/v2.img")));
    await().atMost(TIMEOUT).untilAsserted(() -> {
      assertThat(slots("update", "boot")).as("Manual: a new image moves no slot").allSatisfy(s -> {
        assertThat(s.getSpec().getImage()).isEqualTo("/srv/images/origin.img");
        assertThat(s.getSpec().getPoolImage()).isEqualTo("/srv/images/v2.img");
        assertThat(s.getSpec().getRebuild()).isNull();
      });
      assertThat(pool("update", "boot").getStatus().getStaleReplicas()).isEqualTo(2);
      assertThat(pool("update", "boot").getStatus().getUpdatedReplicas()).isZero();
    });
    assertThat(slots("update", "boot")).as("durable writes by default")
        .allSatisfy(s -> assertThat(s.getSpec().writeCacheOrDefault()).isFalse());
    Cluster.mergePatch(pools("update").withName("boot"),
        Map.of("spec", Map.of("interface", "enp3s0", "export", Map.of("writeCache", true))));

    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slots("update", "boot")).allSatisfy(s -> {
      assertThat(s.getSpec().getImage()).isEqualTo("/srv/images/origin.img");
      assertThat(s.getSpec().getInterface()).isEqualTo("enp3s0");
      assertThat(s.getSpec().getExport().getWriteCache()).isTrue();
      assertThat(s.getSpec().getNodeName()).isEqualTo(NODE);
    }));
    assertThat(slots("update", "boot")).extracting(s -> s.getMetadata().getUid()).containsExactlyElementsOf(uids);
  }

  @Test
  void resetAnnotationMovesOneSlotToThePoolImageAndRollbackLeavesUntouchedSlotsAlone() {
    createPool("reset", "boot", 310, 2, p -> p);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slotNumbers("reset", "boot")).containsExactly(0, 1));
    Cluster.mergePatch(pools("reset").withName("boot"), Map.of("spec", Map.of("image", "/srv/images/v2.img")));
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(pool("reset", "boot").getStatus().getStaleReplicas()).isEqualTo(2));

    annotateReset("reset", "boot-0", "20261202T1400Z");
    await().atMost(TIMEOUT).untilAsserted(() -> {
      assertThat(slot("reset", "boot-0").getSpec().getImage()).isEqualTo("/srv/images/v2.img");
      assertThat(slot("reset", "boot-0").getSpec().getRebuild()).isEqualTo("reset-20261202T1400Z");
      assertThat(slot("reset", "boot-1").getSpec().getImage()).isEqualTo("/srv/images/origin.img");
      assertThat(slot("reset", "boot-1").getSpec().getRebuild()).isNull();
      assertThat(pool("reset", "boot").getStatus().getStaleReplicas()).isEqualTo(1);
    });
    assertThat(pool("reset", "boot").getStatus().getUpdatedReplicas()).as("not before the agent reports it").isZero();
    servingRebuilt("reset", "boot-0");
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(pool("reset", "boot").getStatus().getUpdatedReplicas()).isEqualTo(1));

    long generation = slot("reset", "boot-0").getMetadata().getGeneration();
    annotateReset("reset", "boot-0", "20261202T1400Z"); // the same value again: nothing moves
    Cluster.mergePatch(pools("reset").withName("boot"), Map.of("spec", Map.of("image", "/srv/images/origin.img")));
    await().atMost(TIMEOUT).untilAsserted(() -> {
      assertThat(pool("reset", "boot").getStatus().getStaleReplicas()).as("rollback: boot-0 is now the stale one").isEqualTo(1);
      assertThat(slot("reset", "boot-1").getSpec().getRebuild()).as("never touched").isNull();
      assertThat(slot("reset", "boot-0").getSpec().getImage()).isEqualTo("/srv/images/v2.img");
    });
    assertThat(slot("reset", "boot-0").getSpec().getRebuild()).isEqualTo("reset-20261202T1400Z");
    assertThat(slot("reset", "boot-0").getMetadata().getGeneration()).as("only spec.poolImage changed").isEqualTo(generation + 1);
  }

  @Test
  void aSlotDeletedByHandAfterAnImageChangeComesBackOnTheImageItsDataWasBuiltFrom() {
    createPool("readopt", "boot", 313, 1, p -> p);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slotNumbers("readopt", "boot")).containsExactly(0));
    Cluster.mergePatch(pools("readopt").withName("boot"), Map.of("spec", Map.of("image", "/srv/images/v2.img")));
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(pool("readopt", "boot").getStatus().getPlacements())
        .singleElement().satisfies(p -> assertThat(p.getImage()).isEqualTo("/srv/images/origin.img")));
    String uid = slot("readopt", "boot-0").getMetadata().getUid();

    client.resources(AoeBootSlot.class).inNamespace("readopt").withName("boot-0").delete();
    cluster.releaseDeletedSlots("readopt");
    await().atMost(TIMEOUT).untilAsserted(() -> {
      AoeBootSlot again = slot("readopt", "boot-0");
      assertThat(again).isNotNull();
      assertThat(again.getMetadata().getUid()).isNotEqualTo(uid);
      assertThat(again.getSpec().getImage()).as("adopts its data, no conflict").isEqualTo("/srv/images/origin.img");
      assertThat(again.getSpec().getPoolImage()).isEqualTo("/srv/images/v2.img");
    });
  }

  @Test
  void resetOfAMissingSlotIsNotFound() {
    cluster.createNamespace("reset-missing");
    assertThatThrownBy(() -> annotateReset("reset-missing", "boot-7", "20261202T1400Z"))
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(404));
  }

  @Test
  void invalidResetValueMovesNothingAndIsReported() {
    createPool("reset-bad", "boot", 311, 1, p -> p);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slotNumbers("reset-bad", "boot")).containsExactly(0));
    Cluster.mergePatch(pools("reset-bad").withName("boot"), Map.of("spec", Map.of("image", "/srv/images/v2.img")));
    annotateReset("reset-bad", "boot-0", "now please");
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(client.v1().events().inNamespace("reset-bad").list().getItems())
        .anySatisfy(e -> {
          assertThat(e.getReason()).isEqualTo("InvalidReset");
          assertThat(e.getInvolvedObject().getName()).isEqualTo("boot-0");
        }));
    assertThat(slot("reset-bad", "boot-0").getSpec().getImage()).isEqualTo("/srv/images/origin.img");
  }

  @Test
  void aResetIsRefusedWhileTheClientIsSeenWritingAndMovesOnlyWhenForced() {
    createPool("reset-busy", "boot", 314, 1, p -> p);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slotNumbers("reset-busy", "boot")).containsExactly(0));
    pinClient("reset-busy", "pc-0", "52:54:00:ab:00:00", 0);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(client.resources(AoeBootClient.class).inNamespace("reset-busy")
        .withName("pc-0").get().getStatus().getSlot()).isEqualTo(0));
    Cluster.mergePatch(pools("reset-busy").withName("boot"), Map.of("spec", Map.of("image", "/srv/images/v2.img")));
    bootProgress("reset-busy", "pc-0", Map.of("stage", "Writing", "writingAt", java.time.Instant.now().toString()));

    annotateReset("reset-busy", "boot-0", "20261202T1500Z");
    await().atMost(TIMEOUT).untilAsserted(() -> {
      assertThat(client.v1().events().inNamespace("reset-busy").list().getItems()).anySatisfy(e -> {
        assertThat(e.getReason()).isEqualTo(PoolReconciler.RESET_REFUSED);
        assertThat(e.getType()).isEqualTo("Warning");
        assertThat(e.getInvolvedObject().getName()).isEqualTo("boot-0");
        assertThat(e.getMessage()).contains("client pc-0 was seen writing").contains("cowherd.io/reset-force=20261202T1500Z");
      });
      assertThat(slot("reset-busy", "boot-0").getMetadata().getAnnotations())
          .containsEntry(SlotOrigins.RESET_REFUSED_ANNOTATION, "20261202T1500Z");
    });
    assertThat(slot("reset-busy", "boot-0").getSpec().getImage()).isEqualTo("/srv/images/origin.img");
    assertThat(slot("reset-busy", "boot-0").getSpec().getRebuild()).isNull();

    bootProgress("reset-busy", "pc-0", Map.of("stage", "Silent", "writingAt", "2026-01-01T00:00:00Z")); // a reconcile
    await().during(Duration.ofSeconds(3)).atMost(TIMEOUT).untilAsserted(() ->
        assertThat(slot("reset-busy", "boot-0").getSpec().getRebuild()).as("a refused value stays refused").isNull());

    Cluster.mergePatch(client.resources(AoeBootSlot.class).inNamespace("reset-busy").withName("boot-0"),
        Map.of("metadata", Map.of("annotations", Map.of(SlotOrigins.RESET_FORCE_ANNOTATION, "20261202T1500Z"))));
    await().atMost(TIMEOUT).untilAsserted(() -> {
      AoeBootSlot moved = slot("reset-busy", "boot-0");
      assertThat(moved.getSpec().getImage()).isEqualTo("/srv/images/v2.img");
      assertThat(moved.getSpec().getRebuild()).isEqualTo("reset-20261202T1500Z");
      assertThat(moved.getMetadata().getAnnotations()).doesNotContainKey(SlotOrigins.RESET_REFUSED_ANNOTATION);
    });
  }

  @Test
  void idlePacingMovesStaleSlotsOfSilentClientsOneAtATime() {
    createPool("idle", "boot", 315, 3, p -> p);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slotNumbers("idle", "boot")).containsExactly(0, 1, 2));
    for (int n = 0; n < 3; n++) {
      pinClient("idle", "pc-" + n, "52:54:00:ac:00:0" + n, n);
    }
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(client.resources(AoeBootClient.class).inNamespace("idle")
        .withName("pc-2").get().getStatus().getSlot()).isEqualTo(2));
    bootProgress("idle", "pc-0", Map.of("stage", "Silent", "writingAt", "2026-01-01T00:00:00Z"));
    bootProgress("idle", "pc-1", Map.of("stage", "Silent", "readingAt", "2026-01-01T00:00:00Z"));
    bootProgress("idle", "pc-2", Map.of("stage", "Writing", "writingAt", java.time.Instant.now().toString()));
    Cluster.mergePatch(pools("idle").withName("boot"), Map.of("spec", Map.of("image", "/srv/images/v2.img",
        "idleUpdate", Map.of("silentFor", "60s", "maxUnavailable", 1))));

    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slot("idle", "boot-0").getSpec().getImage())
        .isEqualTo("/srv/images/v2.img"));
    assertThat(slot("idle", "boot-0").getSpec().getRebuild()).startsWith("idle-g");
    await().during(Duration.ofSeconds(3)).atMost(TIMEOUT).untilAsserted(() -> assertThat(slot("idle", "boot-1")
        .getSpec().getImage()).as("one at a time: boot-0 is rebuilding").isEqualTo("/srv/images/origin.img"));

    servingRebuilt("idle", "boot-0");
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slot("idle", "boot-1").getSpec().getImage())
        .isEqualTo("/srv/images/v2.img"));
    servingRebuilt("idle", "boot-1");
    await().during(Duration.ofSeconds(3)).atMost(TIMEOUT).untilAsserted(() -> assertThat(slot("idle", "boot-2")
        .getSpec().getImage()).as("its client is writing").isEqualTo("/srv/images/origin.img"));
  }

  @Test
  void aCaptureWaitsWhileTheClientIsSeenReadingAndGoesOnceItIsSilentOrForced() {
    createPool("capture", "boot", 316, 2, p -> p);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slotNumbers("capture", "boot")).containsExactly(0, 1));
    pinClient("capture", "pc-0", "52:54:00:ad:00:00", 0);
    pinClient("capture", "pc-1", "52:54:00:ad:00:01", 1);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(client.resources(AoeBootClient.class).inNamespace("capture")
        .withName("pc-1").get().getStatus().getSlot()).isEqualTo(1));
    bootProgress("capture", "pc-0", Map.of("stage", "Reading", "readingAt", java.time.Instant.now().toString()));
    bootProgress("capture", "pc-1", Map.of("stage", "Writing", "writingAt", java.time.Instant.now().toString()));

    annotate("capture", "boot-0", SlotOrigins.CAPTURE_ANNOTATION, "/srv/images/golden.img");
    annotate("capture", "boot-1", SlotOrigins.CAPTURE_ANNOTATION, "golden.img");
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(client.v1().events().inNamespace("capture").list().getItems())
        .filteredOn(e -> PoolReconciler.CAPTURE_REFUSED.equals(e.getReason()))
        .anySatisfy(e -> assertThat(e.getMessage()).contains("boot-0").contains("client pc-0 was seen reading")
            .contains("cowherd.io/capture-force=/srv/images/golden.img"))
        .anySatisfy(e -> assertThat(e.getMessage()).contains("boot-1").contains("not an absolute path")));
    assertThat(slot("capture", "boot-0").getSpec().getCapture()).isNull();

    bootProgress("capture", "pc-0", Map.of("stage", "Silent", "readingAt", "2026-01-01T00:00:00Z"));
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slot("capture", "boot-0").getSpec().getCapture())
        .isEqualTo("/srv/images/golden.img"));
    assertThat(slot("capture", "boot-1").getSpec().getCapture()).as("ill-formed: never passed on").isNull();

    annotate("capture", "boot-1", SlotOrigins.CAPTURE_ANNOTATION, "/srv/images/golden-1.img");
    annotate("capture", "boot-1", SlotOrigins.CAPTURE_FORCE_ANNOTATION, "/srv/images/golden-1.img");
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slot("capture", "boot-1").getSpec().getCapture())
        .as("forced while writing").isEqualTo("/srv/images/golden-1.img"));
    assertThat(slot("capture", "boot-0").getSpec().getImage()).as("a capture moves nothing").isEqualTo("/srv/images/origin.img");
  }

  @Test
  void onRebootMovesAStaleSlotWhenItsClientAsksForItsScriptAndManualDoesNot() {
    createPool("reboot", "boot", 312, 2, p -> p);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slotNumbers("reboot", "boot")).containsExactly(0, 1));
    for (int n = 0; n < 2; n++) {
      AoeBootClient c = new AoeBootClient();
      c.setMetadata(new ObjectMetaBuilder().withNamespace("reboot").withName("pc-" + n).build());
      AoeBootClientSpec spec = new AoeBootClientSpec();
      spec.setMac("52:54:00:aa:00:0" + n);
      spec.setPool("boot");
      spec.setSlot(n);
      c.setSpec(spec);
      client.resource(c).create();
    }
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(client.resources(AoeBootClient.class).inNamespace("reboot")
        .withName("pc-1").get().getStatus().getSlot()).isEqualTo(1));
    Cluster.mergePatch(pools("reboot").withName("boot"), Map.of("spec", Map.of("image", "/srv/images/v2.img")));
    updateRequested("reboot", "pc-0", "2026-12-02T14:00:00Z");
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(pool("reboot", "boot").getStatus().getStaleReplicas()).isEqualTo(2));
    assertThat(slot("reboot", "boot-0").getSpec().getImage()).as("Manual ignores reboots").isEqualTo("/srv/images/origin.img");

    Cluster.mergePatch(pools("reboot").withName("boot"), Map.of("spec", Map.of("updateStrategy", "OnReboot")));
    await().atMost(TIMEOUT).untilAsserted(() -> {
      assertThat(slot("reboot", "boot-0").getSpec().getImage()).isEqualTo("/srv/images/v2.img");
      assertThat(slot("reboot", "boot-0").getSpec().getRebuild()).isEqualTo("reboot-2026-12-02T14:00:00Z");
      assertThat(pool("reboot", "boot").getStatus().getStaleReplicas()).isEqualTo(1);
    });
    assertThat(slot("reboot", "boot-1").getSpec().getImage()).as("its client did not reboot").isEqualTo("/srv/images/origin.img");
  }

  @Test
  void scaleSubresourceScalesDownHighestSlotsAndWaitsForTheAgentFinalizer() {
    createPool("scale", "boot", 200, 3, p -> p);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slotNumbers("scale", "boot")).containsExactly(0, 1, 2));
    cluster.addAgentFinalizer("scale", "boot-2");

    pools("scale").withName("boot").scale(1);

    await().atMost(TIMEOUT).untilAsserted(() -> {
      cluster.releaseDeletedSlots("scale", "boot-2");
      assertThat(slotNumbers("scale", "boot")).containsExactly(0, 2);
      assertThat(slot("scale", "boot-2").getMetadata().getDeletionTimestamp()).isNotNull();
      assertThat(slot("scale", "boot-2").getMetadata().getAnnotations()).as("the agent's signal: default policy Delete")
          .containsEntry(SlotReclaim.ANNOTATION, "Delete");
    });
    cluster.removeAgentFinalizer("scale", "boot-2");
    await().atMost(TIMEOUT).untilAsserted(() -> {
      assertThat(slotNumbers("scale", "boot")).containsExactly(0);
      AoeBootPool seen = pool("scale", "boot");
      assertThat(seen.getSpec().getReplicas()).isEqualTo(1);
      assertThat(seen.getStatus().getReplicas()).isEqualTo(1);
      assertThat(seen.getStatus().getObservedGeneration()).isEqualTo(seen.getMetadata().getGeneration());
      assertThat(pools("scale").withName("boot").scale().getStatus().getReplicas()).isEqualTo(1);
    });
    // Events are written in the background, after the reconciliation that records them.
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(eventReasons("scale", "boot")).contains("SlotDeleted"));
  }

  @Test
  void secondPoolOnSameShelfGetsConflictAndNoOverlappingSlots() {
    createPool("conflict-a", "first", 600, 2, p -> p);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slotNumbers("conflict-a", "first")).containsExactly(0, 1));

    createPool("conflict-b", "second", 600, 3, p -> p);

    await().atMost(TIMEOUT).untilAsserted(() -> {
      AoeBootPool seen = pool("conflict-b", "second");
      assertCondition(seen, "Conflict", "True", "TargetConflict");
      assertThat(condition(seen, "Conflict").getMessage())
          .isEqualTo("targets e600.0, e600.1 are served by an existing slot of pool conflict-a/first");
      assertCondition(seen, "Ready", "False", "TargetConflict");
      assertThat(slotNumbers("conflict-b", "second")).containsExactly(2);
    });
    assertTargetsUnique();
    // Events are written in the background, after the reconciliation that records them.
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(eventReasons("conflict-b", "second")).contains("TargetConflict"));

    pools("conflict-a").withName("first").delete();

    await().atMost(TIMEOUT).untilAsserted(() -> {
      cluster.releaseDeletedSlots("conflict-a");
      assertThat(slotNumbers("conflict-b", "second")).containsExactly(0, 1, 2);
      assertCondition(pool("conflict-b", "second"), "Conflict", "False", "NoConflict");
    });
    assertTargetsUnique();
  }

  @Test
  void poolDeletionDeletesSlotsAndKeepsPoolUntilTheyAreGone() {
    createPool("delete", "boot", 400, 2, p -> p);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slotNumbers("delete", "boot")).containsExactly(0, 1));
    cluster.addAgentFinalizer("delete", "boot-1");

    pools("delete").withName("boot").delete();

    await().atMost(TIMEOUT).untilAsserted(() -> {
      cluster.releaseDeletedSlots("delete", "boot-1");
      assertThat(slotNumbers("delete", "boot")).containsExactly(1);
      assertThat(slot("delete", "boot-1").getMetadata().getDeletionTimestamp()).isNotNull();
      assertThat(slot("delete", "boot-1").getMetadata().getAnnotations()).containsEntry(SlotReclaim.ANNOTATION, "Delete");
      AoeBootPool seen = pool("delete", "boot");
      assertThat(seen.getMetadata().getDeletionTimestamp()).isNotNull();
      assertThat(seen.getMetadata().getFinalizers()).containsExactly(PoolReconciler.FINALIZER);
    });
    cluster.removeAgentFinalizer("delete", "boot-1");
    await().atMost(TIMEOUT).untilAsserted(() -> {
      assertThat(slots("delete", "boot")).isEmpty();
      assertThat(pools("delete").withName("boot").get()).isNull();
    });
  }

  @Test
  void withoutEligibleNodeNoSlotIsCreatedUntilOneAppears() {
    cluster.setUnschedulable(NODE, true);
    try {
      createPool("no-node", "boot", 700, 1, p -> p);
      await().atMost(TIMEOUT).untilAsserted(() -> {
        AoeBootPool seen = pool("no-node", "boot");
        assertCondition(seen, "Progressing", "True", "NoEligibleNode");
        assertThat(condition(seen, "Progressing").getMessage()).contains("1 unschedulable (" + NODE + ")");
      });
      assertThat(slots("no-node", "boot")).isEmpty();
      assertThat(eventReasons("no-node", "boot")).contains("NoEligibleNode");
    } finally {
      cluster.setUnschedulable(NODE, false);
    }
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slotNumbers("no-node", "boot")).containsExactly(0));
  }

  @Test
  void poolWithoutSpecIsRejectedAtAdmission() {
    cluster.createNamespace("no-spec");
    AoeBootPool pool = new AoeBootPool();
    pool.setMetadata(new ObjectMetaBuilder().withNamespace("no-spec").withName("empty").build());

    assertThatThrownBy(() -> client.resource(pool).create())
        .isInstanceOf(KubernetesClientException.class)
        .hasMessageContaining("spec is required");
    assertThat(pool("no-spec", "empty")).isNull();
  }

  @Test
  void executorSkipsWriteWhoseTargetAnotherPoolHoldsLive() {
    cluster.createNamespace("guard");
    AoeBootPool holder = Pools.aPool().inNamespace("guard").named("holder").shelf(800).replicas(1).build();
    AoeBootPool late = Pools.aPool().inNamespace("guard").named("late").shelf(800).replicas(1).build();
    AoeBootSlot held = DesiredSlots.build(holder, 0, NODE);
    held.getMetadata().setOwnerReferences(List.of());
    client.resource(held).create();
    SlotSetExecutor executor = new SlotSetExecutor(client, new NodeGoneSlotReleaser(client),
        new NodeLivenessWriter(client, Clock.systemUTC()), new PoolEventRecorder(client, Clock.systemUTC()));
    SlotSetPlan plan = new SlotSetPlan(List.of(DesiredSlots.build(late, 0, NODE)), List.of(), List.of(), List.of(),
        List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), ReclaimPolicy.Delete);

    SlotSetOutcome outcome = executor.apply(late, plan);

    assertThat(outcome.created()).isZero();
    assertThat(outcome.skipped()).containsExactly("late-0");
    assertThat(slot("guard", "late-0")).isNull();
  }

  /**
   * A batch of slot writes runs in parallel ({@link SlotSetExecutor#PARALLEL_WRITES} at once): every
   * slot exists once, a repeated batch creates nothing, every deleted slot carries the reclaim mark
   * before it goes, and a failed write is thrown after the writes already started have finished.
   */
  @Test
  void executorWritesABatchInParallelAndThrowsAFailureAfterTheStartedWritesFinish() {
    cluster.createNamespace("batch");
    int n = 8 * SlotSetExecutor.PARALLEL_WRITES; // many more than are in flight when the failure returns
    AoeBootPool pool = Pools.aPool().inNamespace("batch").named("many").shelf(810).replicas(n).build();
    SlotSetExecutor executor = new SlotSetExecutor(client, new NodeGoneSlotReleaser(client),
        new NodeLivenessWriter(client, Clock.systemUTC()), new PoolEventRecorder(client, Clock.systemUTC()));
    List<AoeBootSlot> creates = IntStream.range(0, n).mapToObj(i -> DesiredSlots.build(pool, i, NODE)).toList();

    assertThat(executor.apply(pool, batch(creates, List.of())).created()).isEqualTo(n);
    assertThat(slotNumbers("batch", "many")).containsExactlyElementsOf(IntStream.range(0, n).boxed().toList());
    assertThat(executor.apply(pool, batch(creates, List.of())).created()).as("AlreadyExists counts as done").isZero();
    assertThat(slots("batch", "many")).hasSize(n);

    cluster.addAgentFinalizer("batch", "many-0");
    cluster.addAgentFinalizer("batch", "many-" + (n - 1));
    SlotSetOutcome deleted = executor.apply(pool, batch(List.of(), slots("batch", "many")));
    assertThat(deleted.deleted()).isEqualTo(n);
    assertThat(slotNumbers("batch", "many")).as("only those the agent's finalizer holds").containsExactly(0, n - 1);
    for (AoeBootSlot held : slots("batch", "many")) {
      assertThat(held.getMetadata().getDeletionTimestamp()).isNotNull();
      assertThat(held.getMetadata().getAnnotations()).as("marked before deleted").containsEntry(SlotReclaim.ANNOTATION, "Delete");
      cluster.removeAgentFinalizer("batch", held.getMetadata().getName());
    }

    List<AoeBootSlot> withBadOne = new ArrayList<>(creates);
    AoeBootSlot bad = DesiredSlots.build(pool, 0, NODE);
    bad.getMetadata().setName("Not_A_Name"); // the API server refuses it (422), not AlreadyExists
    withBadOne.set(0, bad);
    assertThatThrownBy(() -> executor.apply(pool, batch(withBadOne, List.of())))
        .isInstanceOf(SlotWriteException.class).hasMessageContaining("Not_A_Name");
    List<Integer> made = slotNumbers("batch", "many");
    assertThat(made).as("no write starts after the failure").hasSizeLessThan(n - 1).doesNotContain(0);
    SlotSetOutcome rest = executor.apply(pool, batch(creates, List.of()));
    assertThat(rest.created()).isEqualTo(n - made.size());
    assertThat(slots("batch", "many")).hasSize(n);
    assertTargetsUnique();
  }

  /**
   * A delete decided on one slot object never deletes another of the same name: the slot was
   * marked (so the mark patch, which carries the UID, is skipped), then deleted by hand and
   * recreated before the executor's delete arrives.
   */
  @Test
  void executorDeletesOnlyTheSlotObjectItDecidedOnNotOneRecreatedUnderItsName() {
    cluster.createNamespace("stale");
    AoeBootPool pool = Pools.aPool().inNamespace("stale").named("p").shelf(820).replicas(1).build();
    AoeBootSlot desired = DesiredSlots.build(pool, 0, NODE);
    desired.getMetadata().setOwnerReferences(List.of());
    desired.getMetadata().setAnnotations(Map.of(SlotReclaim.ANNOTATION, "Delete"));
    AoeBootSlot decidedOn = client.resource(desired).create();
    client.resource(decidedOn).delete();
    await().atMost(TIMEOUT).until(() -> slot("stale", "p-0") == null);
    desired.getMetadata().setResourceVersion(null);
    desired.getMetadata().setUid(null);
    AoeBootSlot recreated = client.resource(desired).create();
    assertThat(recreated.getMetadata().getUid()).isNotEqualTo(decidedOn.getMetadata().getUid());
    SlotSetExecutor executor = new SlotSetExecutor(client, new NodeGoneSlotReleaser(client),
        new NodeLivenessWriter(client, Clock.systemUTC()), new PoolEventRecorder(client, Clock.systemUTC()));

    SlotSetOutcome outcome = executor.apply(pool, batch(List.of(), List.of(decidedOn)));

    assertThat(outcome.deleted()).isZero();
    AoeBootSlot left = slot("stale", "p-0");
    assertThat(left).as("the recreated slot is still there").isNotNull();
    assertThat(left.getMetadata().getUid()).isEqualTo(recreated.getMetadata().getUid());
    assertThat(left.getMetadata().getDeletionTimestamp()).isNull();

    assertThat(executor.apply(pool, batch(List.of(), List.of(left))).deleted()).as("the object it decides on now").isOne();
    await().atMost(TIMEOUT).until(() -> slot("stale", "p-0") == null);
  }

  private static SlotSetPlan batch(List<AoeBootSlot> creates, List<AoeBootSlot> deletes) {
    return new SlotSetPlan(creates, List.of(), deletes, List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
        List.of(), ReclaimPolicy.Delete);
  }

  // --- helpers -------------------------------------------------------------------------------

  private static AoeBootPool createPool(String namespace, String name, int shelf, int replicas,
      UnaryOperator<Pools> change) {
    cluster.createNamespace(namespace);
    AoeBootPool pool = change.apply(Pools.aPool().inNamespace(namespace).named(name).shelf(shelf).replicas(replicas)).buildForCreate();
    return client.resource(pool).create();
  }

  private static NonNamespaceOperation<AoeBootPool, KubernetesResourceList<AoeBootPool>, Resource<AoeBootPool>> pools(
      String namespace) {
    return client.resources(AoeBootPool.class).inNamespace(namespace);
  }

  /** The documented reset: {@code kubectl annotate aoebootslot <name> cowherd.io/reset-requested=<value> --overwrite}. */
  private static void annotateReset(String namespace, String slot, String value) {
    Cluster.mergePatch(client.resources(AoeBootSlot.class).inNamespace(namespace).withName(slot),
        Map.of("metadata", Map.of("annotations", Map.of(SlotOrigins.RESET_ANNOTATION, value))));
  }

  private static void annotate(String namespace, String slot, String key, String value) {
    Cluster.mergePatch(client.resources(AoeBootSlot.class).inNamespace(namespace).withName(slot),
        Map.of("metadata", Map.of("annotations", Map.of(key, value))));
  }

  /** An AoeBootClient pinned to {@code slot} of pool {@code boot}. */
  private static void pinClient(String namespace, String name, String mac, int slot) {
    AoeBootClient c = new AoeBootClient();
    c.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).build());
    AoeBootClientSpec spec = new AoeBootClientSpec();
    spec.setMac(mac);
    spec.setPool("boot");
    spec.setSlot(slot);
    c.setSpec(spec);
    client.resource(c).create();
  }

  /** What a node agent writes when it sees a client's frames on the wire ({@code status.boot}). */
  private static void bootProgress(String namespace, String clientName, Map<String, Object> boot) {
    client.resources(AoeBootClient.class).inNamespace(namespace).withName(clientName).subresource("status")
        .patch(PatchContext.of(PatchType.JSON_MERGE), Serialization.asJson(Map.of("status", Map.of("boot", boot))));
  }

  /** What a boot endpoint writes when it holds back a stale slot's script under OnReboot. */
  private static void updateRequested(String namespace, String clientName, String at) {
    client.resources(AoeBootClient.class).inNamespace(namespace).withName(clientName).subresource("status")
        .patch(PatchContext.of(PatchType.JSON_MERGE),
            Serialization.asJson(Map.of("status", Map.of("boot", Map.of("updateRequestedAt", at)))));
  }

  /** Writes the status the slot's agent writes once it serves its rebuilt store. */
  private static void servingRebuilt(String namespace, String name) {
    AoeBootSlot s = slot(namespace, name);
    Map<String, Object> origin = new HashMap<>();
    origin.put("path", s.getSpec().getImage());
    origin.put("identity", "dev=1 ino=2 size=3 ctime=4.5");
    origin.put("changed", false);
    origin.put("stale", false);
    origin.put("rebuild", s.getSpec().getRebuild());
    client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name).subresource("status")
        .patch(PatchContext.of(PatchType.JSON_MERGE), Serialization.asJson(Map.of("status", Map.of(
            "phase", "Serving", "observedGeneration", s.getMetadata().getGeneration(), "origin", origin))));
  }

  private static AoeBootPool pool(String namespace, String name) {
    return client.resources(AoeBootPool.class).inNamespace(namespace).withName(name).get();
  }

  private static AoeBootSlot slot(String namespace, String name) {
    return client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name).get();
  }

  private static List<AoeBootSlot> slots(String namespace, String pool) {
    return client.resources(AoeBootSlot.class).inNamespace(namespace).withLabel(Names.POOL_LABEL, pool).list().getItems()
        .stream().sorted(Comparator.comparing(s -> s.getSpec().getSlot())).toList();
  }

  private static List<Integer> slotNumbers(String namespace, String pool) {
    return slots(namespace, pool).stream().map(s -> s.getSpec().getSlot()).toList();
  }

  private static void assertTargetsUnique() {
    List<String> targets = new ArrayList<>();
    for (AoeBootSlot s : client.resources(AoeBootSlot.class).inAnyNamespace().list().getItems()) {
      targets.add(Names.target(s.getSpec().getShelf(), s.getSpec().getSlot()));
    }
    assertThat(targets).doesNotHaveDuplicates();
  }

  private static List<String> eventReasons(String namespace, String pool) {
    return client.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> pool.equals(e.getInvolvedObject().getName()))
        .map(Event::getReason)
        .toList();
  }

  private static Condition condition(AoeBootPool pool, String type) {
    assertThat(pool.getStatus()).as("status of pool %s", pool.getMetadata().getName()).isNotNull();
    return pool.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst()
        .orElseThrow(() -> new AssertionError("no condition " + type + " on pool " + pool.getMetadata().getName()));
  }

  private static void assertCondition(AoeBootPool pool, String type, String status, String reason) {
    Condition c = condition(pool, type);
    assertThat(c.getStatus() + " " + c.getReason()).as("%s (%s)", type, c.getMessage()).isEqualTo(status + " " + reason);
  }
}
