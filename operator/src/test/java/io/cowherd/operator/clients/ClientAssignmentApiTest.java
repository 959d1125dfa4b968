package io.cowherd.operator.clients;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.cowherd.api.MacAddress;
import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootClientSpec;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.ClientEnrollment;
import io.cowherd.api.v1alpha1.ClientsSpec;
import io.cowherd.operator.support.ApiServerExtension;
import io.cowherd.operator.support.ApiServerHarness;
import io.cowherd.operator.support.Cluster;
import io.cowherd.operator.support.Operators;
import io.cowherd.operator.support.Pools;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.Operator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Client enrollment and slot assignment by the operator, against a real kube-apiserver + etcd:
 * clients created at once get distinct slots, one MAC never holds two, a full pool answers with a
 * condition and an Event naming the MAC, scale-down and pool deletion release a client's slot with an Event, each
 * slot's spec carries its client's MAC, and malformed input is refused at admission.
 */
@Tag("apiserver")
@ExtendWith(ApiServerExtension.class)
class ClientAssignmentApiTest {
  private static final String NODE = "node-clients";
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
  void clientsCreatedAtOnceGetDistinctSlotsAndTheirSlotSpecsCarryTheirMacs() throws Exception {
    createPool("race", "boot", 3101, 8, ClientEnrollment.Automatic);
    List<String> macs = IntStream.range(0, 8).mapToObj(i -> String.format("52:54:00:aa:00:%02x", i)).toList();
    CountDownLatch start = new CountDownLatch(1);
    List<CompletableFuture<Void>> creates = new ArrayList<>();
    for (String mac : macs) {
      creates.add(CompletableFuture.runAsync(() -> {
        awaitLatch(start);
        client.resource(enrolled("race", "boot", mac)).create();
      }));
    }
    start.countDown();
    CompletableFuture.allOf(creates.toArray(CompletableFuture[]::new)).join();

    await().atMost(TIMEOUT).untilAsserted(() -> {
      List<AoeBootClient> all = clients("race");
      assertThat(all).hasSize(8).allSatisfy(c -> assertThat(c.getStatus().getSlot()).isNotNull());
      assertThat(all.stream().map(c -> c.getStatus().getSlot()).toList()).doesNotHaveDuplicates();
      for (AoeBootClient c : all) {
        assertThat(c.getStatus().getTarget()).isEqualTo("e3101." + c.getStatus().getSlot());
        assertThat(c.getStatus().getMac()).isEqualTo(c.getSpec().getMac());
        assertCondition(c, "True", ClientAssignment.ASSIGNED);
        AoeBootSlot slot = slot("race", Names.slotName("boot", c.getStatus().getSlot()));
        assertThat(slot).isNotNull();
        assertThat(slot.getSpec().getAllowedMacs()).containsExactly(c.getSpec().getMac());
      }
    });
  }

  @Test
  void oneMacEnrolledTwiceAtOnceMakesOneClientAndTwoClientsWithOneMacShareNoSlot() throws Exception {
    createPool("twice", "boot", 3102, 4, ClientEnrollment.Automatic);
    String mac = "52:54:00:bb:00:01";
    CountDownLatch start = new CountDownLatch(1);
    List<CompletableFuture<Boolean>> creates = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      creates.add(CompletableFuture.supplyAsync(() -> {
        awaitLatch(start);
        try {
          client.resource(enrolled("twice", "boot", mac)).create();
          return true;
        } catch (KubernetesClientException e) {
          assertThat(e.getCode()).isEqualTo(409);
          return false;
        }
      }));
    }
    start.countDown();
    assertThat(creates.stream().map(CompletableFuture::join).filter(b -> b).count()).isEqualTo(1);

    // A user-made client with the same MAC (upper case: the same address) gets no slot.
    AoeBootClient second = manual("twice", "by-hand", "boot", mac.toUpperCase(), null);
    await().atMost(TIMEOUT).untilAsserted(() ->
        assertThat(client("twice", Names.clientName(MacAddress.parse(mac).orElseThrow())).getStatus().getSlot()).isNotNull());
    client.resource(second).create();
    await().atMost(TIMEOUT).untilAsserted(() -> {
      AoeBootClient first = client("twice", Names.clientName(MacAddress.parse(mac).orElseThrow()));
      assertCondition(first, "True", ClientAssignment.ASSIGNED);
      AoeBootClient dup = client("twice", "by-hand");
      assertThat(dup.getStatus().getSlot()).isNull();
      assertCondition(dup, "False", ClientAssignment.DUPLICATE_MAC);
    });
    assertThat(clients("twice").stream().filter(c -> c.getStatus().getSlot() != null).count()).isEqualTo(1);
  }

  @Test
  void aFullPoolAnswersWithAConditionAndAnEventNamingTheMac() {
    createPool("full", "boot", 3103, 2, ClientEnrollment.Automatic);
    client.resource(enrolled("full", "boot", "52:54:00:cc:00:01")).create();
    client.resource(enrolled("full", "boot", "52:54:00:cc:00:02")).create();
    await().atMost(TIMEOUT).untilAsserted(() ->
        assertThat(clients("full")).allSatisfy(c -> assertThat(c.getStatus().getSlot()).isNotNull()));
    client.resource(enrolled("full", "boot", "52:54:00:cc:00:03")).create();
    await().atMost(TIMEOUT).untilAsserted(() -> {
      AoeBootClient third = client("full", "mac-525400cc0003");
      assertThat(third.getStatus()).isNotNull();
      assertThat(third.getStatus().getSlot()).isNull();
      assertCondition(third, "False", ClientAssignment.POOL_FULL);
      assertThat(events("full", ClientAssignment.POOL_FULL)).anySatisfy(e ->
          assertThat(e.getMessage()).contains("52:54:00:cc:00:03"));
    });
    assertThat(clients("full").stream().map(c -> c.getStatus().getSlot()).filter(s -> s != null).toList())
        .containsExactlyInAnyOrder(0, 1);
  }

  @Test
  void pinnedClientTakesItsSlotAndKeepsItAndScaleDownReleasesItWithAnEvent() {
    createPool("pin", "boot", 3104, 3, ClientEnrollment.Manual);
    client.resource(manual("pin", "desk", "boot", "52:54:00:dd:00:01", 2)).create();
    client.resource(manual("pin", "rack", "boot", "52:54:00:dd:00:02", null)).create();
    await().atMost(TIMEOUT).untilAsserted(() -> {
      assertThat(client("pin", "desk").getStatus().getSlot()).isEqualTo(2);
      assertCondition(client("pin", "desk"), "True", ClientAssignment.PINNED);
      assertThat(client("pin", "rack").getStatus().getSlot()).isEqualTo(0);
    });
    // Re-binding the desk to a new NIC keeps its slot and moves the slot's MAC binding.
    Cluster.mergePatch(client.resources(AoeBootClient.class).inNamespace("pin").withName("desk"),
        Map.of("spec", Map.of("mac", "52:54:00:dd:00:99")));
    await().atMost(TIMEOUT).untilAsserted(() -> {
      assertThat(client("pin", "desk").getStatus().getSlot()).isEqualTo(2);
      assertThat(slot("pin", "boot-2").getSpec().getAllowedMacs()).containsExactly("52:54:00:dd:00:99");
    });

    Cluster.mergePatch(client.resources(AoeBootPool.class).inNamespace("pin").withName("boot"),
        Map.of("spec", Map.of("replicas", 2)));
    await().atMost(TIMEOUT).untilAsserted(() -> {
      AoeBootClient desk = client("pin", "desk");
      assertThat(desk.getStatus().getSlot()).isNull();
      assertThat(desk.getStatus().getConditions()).anySatisfy(c -> assertThat(c.getStatus()).isEqualTo("False"));
      assertThat(events("pin", ClientAssignment.SLOT_REMOVED).stream().map(Event::getMessage).toList()
          .toString()).contains("desk");
      assertThat(client("pin", "rack").getStatus().getSlot()).isEqualTo(0);
    });
  }

  @Test
  void deletingThePoolClearsItsClientsAssignmentsWithAnEventOnEach() {
    createPool("gone", "boot", 3106, 3, ClientEnrollment.Automatic);
    client.resource(manual("gone", "desk", "boot", "52:54:00:ff:00:01", 2)).create();
    client.resource(enrolled("gone", "boot", "52:54:00:ff:00:02")).create();
    await().atMost(TIMEOUT).untilAsserted(() -> {
      assertThat(client("gone", "desk").getStatus().getSlot()).isEqualTo(2);
      assertThat(client("gone", "mac-525400ff0002").getStatus().getSlot()).isEqualTo(0);
    });

    client.resources(AoeBootPool.class).inNamespace("gone").withName("boot").delete();

    await().atMost(TIMEOUT).untilAsserted(() -> {
      cluster.releaseDeletedSlots("gone");
      assertThat(client.resources(AoeBootPool.class).inNamespace("gone").withName("boot").get()).isNull();
      for (String name : List.of("desk", "mac-525400ff0002")) {
        AoeBootClient c = client("gone", name);
        assertThat(c.getStatus().getSlot()).as(name).isNull();
        assertThat(c.getStatus().getTarget()).as(name).isNull();
        assertThat(c.getStatus().getAssignedAt()).as(name).isNull();
        assertThat(c.getStatus().getMac()).as(name).isEqualTo(c.getSpec().getMac());
        assertCondition(c, "False", ClientAssigner.POOL_DELETED);
      }
      List<Event> events = events("gone", ClientAssigner.POOL_DELETED);
      assertThat(events).allSatisfy(e -> assertThat(e.getInvolvedObject().getKind()).isEqualTo("AoeBootClient"))
          .extracting(e -> e.getInvolvedObject().getName()).containsExactlyInAnyOrder("desk", "mac-525400ff0002");
      assertThat(events).filteredOn(e -> "desk".equals(e.getInvolvedObject().getName())).singleElement()
          .satisfies(e -> assertThat(e.getMessage()).contains("pool gone/boot was deleted: slot 2 (target e3106.2)"));
    });
  }

  @Test
  void malformedInputIsRefusedAtAdmission() {
    cluster.createNamespace("bad");
    for (String mac : List.of("52:54:00:ee:00", "52-54-00-ee-00-01", "53:54:00:ee:00:01", "52:54:00:ee:00:0g",
        " 52:54:00:ee:00:01")) {
      assertThatThrownBy(() -> client.resource(manual("bad", "m", "boot", mac, null)).create())
          .as(mac).isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(422));
    }
    assertThatThrownBy(() -> client.resource(manual("bad", "s", "boot", "52:54:00:ee:00:01", 255)).create())
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(422));
    AoeBootClient injected = manual("bad", "k", "boot", "52:54:00:ee:00:01", null);
    injected.getSpec().setKernelArgs("quiet\nshell");
    assertThatThrownBy(() -> client.resource(injected).create())
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(422));
    AoeBootClient dollar = manual("bad", "d", "boot", "52:54:00:ee:00:01", null);
    dollar.getSpec().setKernelArgs("x=${net0/ip}");
    assertThatThrownBy(() -> client.resource(dollar).create())
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(422));
    // 32 MACs on one slot: refused by the slot schema (vblade keeps 32, the agent's own takes one).
    AoeBootSlot slot = io.cowherd.operator.pool.DesiredSlots.build(
        Pools.aPool().inNamespace("bad").named("boot").shelf(3105).replicas(1).build(), 0, NODE,
        IntStream.range(0, 32).mapToObj(i -> String.format("52:54:00:ee:01:%02x", i)).toList());
    slot.getMetadata().setOwnerReferences(List.of());
    assertThatThrownBy(() -> client.resource(slot).create())
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(422));
  }

  private static void createPool(String namespace, String name, int shelf, int replicas, ClientEnrollment enrollment) {
    cluster.createNamespace(namespace);
    AoeBootPool pool = Pools.aPool().inNamespace(namespace).named(name).shelf(shelf).replicas(replicas).buildForCreate();
    ClientsSpec clients = new ClientsSpec();
    clients.setEnrollment(enrollment);
    clients.setEnrollmentsPerMinute(100);
    pool.getSpec().setClients(clients);
    client.resource(pool).create();
  }

  /** A client as a node agent enrols it: named after its MAC, labelled. */
  static AoeBootClient enrolled(String namespace, String pool, String mac) {
    AoeBootClient c = manual(namespace, Names.clientName(MacAddress.parse(mac).orElseThrow()), pool, mac, null);
    c.getMetadata().setLabels(Map.of(Names.ENROLLED_BY_LABEL, NODE));
    return c;
  }

  static AoeBootClient manual(String namespace, String name, String pool, String mac, Integer slot) {
    AoeBootClient c = new AoeBootClient();
    c.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).build());
    AoeBootClientSpec spec = new AoeBootClientSpec();
    spec.setMac(mac);
    spec.setPool(pool);
    spec.setSlot(slot);
    c.setSpec(spec);
    return c;
  }

  private static List<AoeBootClient> clients(String namespace) {
    return client.resources(AoeBootClient.class).inNamespace(namespace).list().getItems().stream()
        .filter(c -> c.getStatus() != null).toList();
  }

  private static AoeBootClient client(String namespace, String name) {
    return client.resources(AoeBootClient.class).inNamespace(namespace).withName(name).get();
  }

  private static AoeBootSlot slot(String namespace, String name) {
    return client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name).get();
  }

  private static List<Event> events(String namespace, String reason) {
    return client.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> reason.equals(e.getReason())).toList();
  }

  private static void assertCondition(AoeBootClient c, String status, String reason) {
    assertThat(c.getStatus()).as(c.getMetadata().getName()).isNotNull();
    assertThat(c.getStatus().getConditions()).as(c.getMetadata().getName())
        .anyMatch(x -> ClientAssigner.ASSIGNED.equals(x.getType()));
    Condition assigned = c.getStatus().getConditions().stream()
        .filter(x -> ClientAssigner.ASSIGNED.equals(x.getType())).findFirst().orElseThrow();
    assertThat(assigned.getStatus()).isEqualTo(status);
    assertThat(assigned.getReason()).isEqualTo(reason);
  }

  private static void awaitLatch(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
