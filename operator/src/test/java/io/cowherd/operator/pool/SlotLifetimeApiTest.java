package io.cowherd.operator.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.api.Names;
import io.cowherd.api.SlotConditions;
import io.cowherd.api.SlotReclaim;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.ReclaimPolicy;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.api.v1alpha1.SlotPlacement;
import io.cowherd.operator.support.ApiServerExtension;
import io.cowherd.operator.support.ApiServerHarness;
import io.cowherd.operator.support.Cluster;
import io.cowherd.operator.support.Operators;
import io.cowherd.operator.support.Pools;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The operator's side of "a slot's COW data is removed only when the user asked", against a real
 * kube-apiserver + etcd: the reclaim mark on scale-down, recreation of a slot deleted by hand on the
 * node that holds its data (also across an operator restart), and what a Node deletion does. The
 * node agent is simulated by its finalizer and status. Uses its own Nodes, deleted after each test.
 */
@Tag("apiserver")
@ExtendWith(ApiServerExtension.class)
class SlotLifetimeApiTest {
  private static final String HOME = "life-home";
  private static final String OTHER = "life-other";
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static KubernetesClient client;
  private static Cluster cluster;
  private static Operator operator;

  @BeforeAll
  static void connect(ApiServerHarness harness) {
    client = harness.client();
    cluster = new Cluster(client);
  }

  @BeforeEach
  void startOperatorAndNodes() {
    cluster.createReadyNode(HOME);
    operator = Operators.startPoolReconciler(client);
  }

  @AfterEach
  void stopOperatorAndNodes() {
    operator.stop();
    client.nodes().withName(HOME).delete();
    client.nodes().withName(OTHER).delete();
    await().atMost(TIMEOUT).until(() -> client.nodes().withName(HOME).get() == null && client.nodes().withName(OTHER).get() == null);
  }

  @AfterAll
  static void noNodesLeft() {
    if (operator != null) {
      operator.stop();
    }
  }

  @Test
  void scaleDownMarksTheSlotWithThePoolsReclaimPolicyBeforeDeletingIt() {
    createPool("mark", 1200, 2, ReclaimPolicy.Retain);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slots("mark")).hasSize(2));
    cluster.addAgentFinalizer("mark", "boot-1");

    client.resources(AoeBootPool.class).inNamespace("mark").withName("boot").scale(1);

    await().atMost(TIMEOUT).untilAsserted(() -> {
      AoeBootSlot deleted = slot("mark", "boot-1");
      assertThat(deleted.getMetadata().getDeletionTimestamp()).isNotNull();
      assertThat(deleted.getMetadata().getAnnotations()).containsEntry(SlotReclaim.ANNOTATION, "Retain");
    });
    assertThat(slot("mark", "boot-0").getMetadata().getAnnotations()).as("a kept slot carries no mark")
        .doesNotContainKey(SlotReclaim.ANNOTATION);
    cluster.removeAgentFinalizer("mark", "boot-1");
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(placements("mark"))
        .as("Retain: slot 1's data stays on its node, and so does its placement")
        .containsExactly(new SlotPlacement(0, HOME), new SlotPlacement(1, HOME)));
  }

  @Test
  void slotDeletedByHandComesBackUnmarkedOnTheNodeHoldingItsDataAlsoAfterAnOperatorRestart() {
    createPool("by-hand", 1300, 1, ReclaimPolicy.Delete);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(placements("by-hand")).containsExactly(new SlotPlacement(0, HOME)));
    String firstUid = slot("by-hand", "boot-0").getMetadata().getUid();
    // From now on the placement rule alone would choose OTHER: HOME is unschedulable and OTHER is empty.
    cluster.setUnschedulable(HOME, true);
    cluster.createReadyNode(OTHER);

    client.resources(AoeBootSlot.class).inNamespace("by-hand").withName("boot-0").delete();
    cluster.releaseDeletedSlots("by-hand");

    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slot("by-hand", "boot-0")).satisfies(s -> {
      assertThat(s).isNotNull();
      assertThat(s.getMetadata().getUid()).isNotEqualTo(firstUid);
      assertThat(s.getSpec().getNodeName()).isEqualTo(HOME);
      assertThat(s.getMetadata().getLabels()).containsEntry(Names.NODE_LABEL, HOME);
      assertThat(s.getMetadata().getAnnotations()).doesNotContainKey(SlotReclaim.ANNOTATION);
    }));

    operator.stop();
    String secondUid = slot("by-hand", "boot-0").getMetadata().getUid();
    client.resources(AoeBootSlot.class).inNamespace("by-hand").withName("boot-0").delete();
    cluster.releaseDeletedSlots("by-hand");
    await().atMost(TIMEOUT).until(() -> slot("by-hand", "boot-0") == null);
    operator = Operators.startPoolReconciler(client);

    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slot("by-hand", "boot-0")).satisfies(s -> {
      assertThat(s).isNotNull();
      assertThat(s.getMetadata().getUid()).isNotEqualTo(secondUid);
      assertThat(s.getSpec().getNodeName()).as("pool status remembered the node across the restart").isEqualTo(HOME);
    }));
  }

  @Test
  void slotOfADeletedNodeIsKeptAndReportedLostServesAgainWhenTheNodeReturnsAndMovesOnlyWhenAbandoned() {
    createPool("lost", 1400, 1, ReclaimPolicy.Delete);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slots("lost")).hasSize(1));
    String uid = slot("lost", "boot-0").getMetadata().getUid();
    cluster.addAgentFinalizer("lost", "boot-0");
    cluster.setSlotPhase("lost", "boot-0", SlotPhase.Serving, null);

    client.nodes().withName(HOME).delete();

    await().atMost(TIMEOUT).untilAsserted(() -> {
      AoeBootSlot kept = slot("lost", "boot-0");
      assertThat(kept.getMetadata().getUid()).isEqualTo(uid);
      assertThat(kept.getMetadata().getDeletionTimestamp()).isNull();
      assertThat(kept.getMetadata().getFinalizers()).containsExactly(Names.SLOT_FINALIZER);
      assertThat(nodeAvailable(kept)).isEqualTo("False " + SlotConditions.NODE_LOST);
      assertThat(kept.getStatus().getPhase()).as("the agent's field is left alone").isEqualTo(SlotPhase.Serving);
      assertThat(warnings("lost", "boot-0")).contains(SlotConditions.NODE_LOST);
      assertThat(warnings("lost", "boot")).contains(SlotConditions.NODE_LOST);
      assertThat(condition(pool("lost"), "Degraded").getMessage()).contains("is gone (NodeLost");
    });
    cluster.createReadyNode(OTHER); // an eligible node: the slot must still not move
    cluster.setSlotPhase("lost", "boot-0", SlotPhase.Serving, "agent still writes its fields");

    cluster.createReadyNode(HOME);

    await().atMost(TIMEOUT).untilAsserted(() -> {
      AoeBootSlot back = slot("lost", "boot-0");
      assertThat(back.getMetadata().getUid()).isEqualTo(uid);
      assertThat(back.getSpec().getNodeName()).isEqualTo(HOME);
      assertThat(nodeAvailable(back)).isEqualTo("True " + SlotConditions.NODE_FOUND);
      assertThat(back.getStatus().getMessage()).isEqualTo("agent still writes its fields");
    });

    client.nodes().withName(HOME).delete();
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(nodeAvailable(slot("lost", "boot-0")))
        .isEqualTo("False " + SlotConditions.NODE_LOST));
    Cluster.mergePatch(client.resources(AoeBootSlot.class).inNamespace("lost").withName("boot-0"),
        Map.of("metadata", Map.of("annotations", Map.of(SlotReclaim.ABANDON_ANNOTATION, SlotReclaim.ABANDON_VALUE))));

    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slot("lost", "boot-0")).satisfies(s -> {
      assertThat(s).isNotNull();
      assertThat(s.getMetadata().getUid()).isNotEqualTo(uid);
      assertThat(s.getSpec().getNodeName()).isEqualTo(OTHER);
      assertThat(s.getMetadata().getAnnotations()).doesNotContainKey(SlotReclaim.ABANDON_ANNOTATION);
      assertThat(s.getMetadata().getAnnotations()).as("its agent must not adopt the abandoned object's store")
          .containsEntry(SlotReclaim.ABANDONED_STORE_ANNOTATION, uid);
    }));
    // Events are written in the background, after the reconciliation that records them.
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(warnings("lost", "boot")).contains("SlotReleased"));
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(placements("lost"))
        .as("remembered across operator restarts").contains(new SlotPlacement(0, OTHER, uid)));

    String recreatedUid = slot("lost", "boot-0").getMetadata().getUid();
    client.resources(AoeBootSlot.class).inNamespace("lost").withName("boot-0").delete(); // by hand
    cluster.releaseDeletedSlots("lost"); // its agent on OTHER, which exists, releases it
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slot("lost", "boot-0")).satisfies(s -> {
      assertThat(s).isNotNull();
      assertThat(s.getMetadata().getUid()).isNotEqualTo(recreatedUid);
      assertThat(s.getSpec().getNodeName()).isEqualTo(OTHER);
      assertThat(s.getMetadata().getAnnotations()).containsEntry(SlotReclaim.ABANDONED_STORE_ANNOTATION, uid);
    }));
  }

  @Test
  void lostSlotDeletedByHandStaysTerminatingUntilAbandonedAndPoolDeletionReleasesLostSlots() {
    createPool("gone", 1500, 2, ReclaimPolicy.Delete);
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(slots("gone")).hasSize(2));
    cluster.addAgentFinalizer("gone", "boot-0");
    cluster.addAgentFinalizer("gone", "boot-1");
    client.nodes().withName(HOME).delete();
    await().atMost(TIMEOUT).untilAsserted(() -> assertThat(nodeAvailable(slot("gone", "boot-0"))).isEqualTo("False NodeLost"));

    client.resources(AoeBootSlot.class).inNamespace("gone").withName("boot-0").delete();

    await().pollDelay(Duration.ofSeconds(3)).atMost(TIMEOUT).untilAsserted(() -> {
      AoeBootSlot held = slot("gone", "boot-0");
      assertThat(held.getMetadata().getDeletionTimestamp()).isNotNull();
      assertThat(held.getMetadata().getFinalizers()).as("only the agent may decide; it is away")
          .containsExactly(Names.SLOT_FINALIZER);
    });

    client.resources(AoeBootPool.class).inNamespace("gone").withName("boot").delete();

    await().atMost(TIMEOUT).untilAsserted(() -> {
      assertThat(slots("gone")).isEmpty();
      assertThat(pool("gone")).isNull();
    });
  }

  private static void createPool(String namespace, int shelf, int replicas, ReclaimPolicy policy) {
    cluster.createNamespace(namespace);
    AoeBootPool pool = Pools.aPool().inNamespace(namespace).named("boot").shelf(shelf).replicas(replicas).buildForCreate();
    pool.getSpec().setReclaimPolicy(policy);
    client.resource(pool).create();
  }

  private static AoeBootPool pool(String namespace) {
    return client.resources(AoeBootPool.class).inNamespace(namespace).withName("boot").get();
  }

  /** The pool's placements: slot, node and abandoned UID (the image each records is tested in PoolReconcilerApiTest). */
  private static List<SlotPlacement> placements(String namespace) {
    AoeBootPool pool = pool(namespace);
    return pool.getStatus() == null ? List.of() : pool.getStatus().getPlacements().stream()
        .map(p -> new SlotPlacement(p.getSlot(), p.getNodeName(), p.getAbandonedSlotUid())).toList();
  }

  private static AoeBootSlot slot(String namespace, String name) {
    return client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name).get();
  }

  private static List<AoeBootSlot> slots(String namespace) {
    return client.resources(AoeBootSlot.class).inNamespace(namespace).list().getItems().stream()
        .sorted(Comparator.comparing(s -> s.getSpec().getSlot())).toList();
  }

  private static String nodeAvailable(AoeBootSlot slot) {
    List<Condition> conditions = slot.getStatus() == null ? null : slot.getStatus().getConditions();
    return conditions == null ? "absent" : conditions.stream().filter(c -> SlotConditions.NODE_AVAILABLE.equals(c.getType()))
        .map(c -> c.getStatus() + " " + c.getReason()).findFirst().orElse("absent");
  }

  private static List<String> warnings(String namespace, String involved) {
    return client.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> involved.equals(e.getInvolvedObject().getName()) && "Warning".equals(e.getType()))
        .map(Event::getReason).toList();
  }

  private static Condition condition(AoeBootPool pool, String type) {
    return pool.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst().orElseThrow();
  }
}
