package io.cowherd.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.api.SlotConditions;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.InitiatorOptions;
import io.cowherd.e2e.support.Exporters;
import io.cowherd.e2e.support.Lab;
import io.fabric8.kubernetes.api.model.Condition;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A client's disk is removed only when the user asked (issue 10, point 1), with real parts: real
 * kube-apiserver + etcd, the operator and a node agent as separate JVMs, vblade exporters, and
 * cowherd's AoE initiator in a client namespace writing each client's data (8 random sectors at
 * LBA 1000 of each target). Deleting a slot object by hand, deleting the Node object and creating
 * it again, and a scale-down under reclaim policy Retain all keep that data; a pool deletion under
 * Delete removes every bit of host state. Steps run in order and share one lab.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SlotLifetimeE2E {
  private static final int SHELF = 11;
  private static final String POOL = "lab";
  private static final String NS = "default";
  private static final long LBA = 1000;
  private static final int SECTORS = 8;
  private static final int REPLICAS = 3;

  private Lab lab;
  private AoeInitiator client;
  private final Map<Integer, byte[]> written = new HashMap<>();

  @BeforeAll
  void startLab() throws Exception {
    lab = Lab.start(Path.of("target", "e2e-slot-lifetime"), 32);
    client = AoeInitiator.openInNamespace(lab.network().addClientNamespace(), "eth0", InitiatorOptions.defaults());
  }

  @AfterAll
  void stopLab() {
    if (client != null) {
      client.close();
    }
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  @Order(1)
  void eachClientWritesItsOwnData() throws Exception {
    lab.controlPlane().kubectlOk("apply", "-f", lab.writePoolYaml(POOL, SHELF, REPLICAS).toString());
    awaitServing(REPLICAS);
    Random random = new Random(7);
    for (int n = 0; n < REPLICAS; n++) {
      byte[] data = new byte[SECTORS * 512];
      random.nextBytes(data);
      client.write(target(n), LBA, data);
      written.put(n, data);
    }
    assertClientDataServed(REPLICAS);
  }

  @Test
  @Order(2)
  void aSlotObjectDeletedByHandComesBackWithItsDataAndItsExporterNeverStops() throws Exception {
    String uid = slot(0).getMetadata().getUid();
    long pid = exporterPid(0);

    long started = System.nanoTime();
    lab.controlPlane().kubectlOk("delete", "aoebootslot", POOL + "-0", "-n", NS);

    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      AoeBootSlot back = slot(0);
      assertThat(back).isNotNull();
      assertThat(back.getMetadata().getUid()).isNotEqualTo(uid);
      assertThat(back.getSpec().getNodeName()).isEqualTo(Lab.NODE);
      assertThat(back.getStatus()).isNotNull();
      assertThat(back.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
    });
    System.out.printf("[measure] slot deleted by hand -> recreated and Serving: %.2f s%n", (System.nanoTime() - started) / 1e9);
    assertThat(exporterPid(0)).as("the exporter kept serving and was adopted").isEqualTo(pid);
    assertClientDataServed(REPLICAS);
    // The agent writes Events in the background, after the reconciliation that records them.
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(events("HostStateKept")).isNotEmpty());
  }

  @Test
  @Order(3)
  void deletingTheNodeObjectKeepsEverySlotLostAndItsReturnServesEveryClientItsOldData() throws Exception {
    Map<String, String> uids = slots().stream()
        .collect(Collectors.toMap(s -> s.getMetadata().getName(), s -> s.getMetadata().getUid()));

    long deleted = System.nanoTime();
    lab.controlPlane().kubectlOk("delete", "node", Lab.NODE);

    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(slots()).hasSize(REPLICAS).allSatisfy(s -> {
      assertThat(s.getMetadata().getUid()).isEqualTo(uids.get(s.getMetadata().getName()));
      assertThat(s.getMetadata().getDeletionTimestamp()).isNull();
      assertThat(nodeAvailable(s)).isEqualTo("False " + SlotConditions.NODE_LOST);
    }));
    System.out.printf("[measure] Node deleted -> every slot NodeLost: %.2f s%n", (System.nanoTime() - deleted) / 1e9);
    System.out.println(lab.controlPlane().kubectlOk("get", "aoebootslots", "-n", NS));
    // The operator writes its Events in the background, after the reconciliation that records them.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(events(SlotConditions.NODE_LOST)).isNotEmpty());
    assertThat(Exporters.on(lab.network().exporterInterface())).hasSize(REPLICAS);
    assertClientDataServed(REPLICAS);

    long recreated = System.nanoTime();
    lab.controlPlane().createReadyNode(Lab.NODE, Map.of("kubernetes.io/hostname", Lab.NODE));

    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(slots()).hasSize(REPLICAS).allSatisfy(s -> {
      assertThat(s.getMetadata().getUid()).isEqualTo(uids.get(s.getMetadata().getName()));
      assertThat(nodeAvailable(s)).isEqualTo("True " + SlotConditions.NODE_FOUND);
      assertThat(s.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
    }));
    System.out.printf("[measure] Node created again -> every slot NodeFound and Serving: %.2f s%n",
        (System.nanoTime() - recreated) / 1e9);
    assertClientDataServed(REPLICAS);
  }

  @Test
  @Order(4)
  void scaleDownUnderRetainThenUpServesTheRemovedClientsTheirData() throws Exception {
    List<Path> stores = slots().stream().map(s -> Path.of(s.getStatus().getCowStorePath())).toList();
    lab.controlPlane().kubectlOk("patch", "aoebootpool", POOL, "-n", NS, "--type=merge",
        "-p", "{\"spec\":{\"reclaimPolicy\":\"Retain\"}}");

    lab.controlPlane().kubectlOk("scale", "aoebootpool/" + POOL, "-n", NS, "--replicas=1");
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      assertThat(slots()).hasSize(1);
      assertThat(Exporters.on(lab.network().exporterInterface())).extracting(Exporters.Exporter::target)
          .containsExactly("e" + SHELF + ".0");
    });
    assertThat(stores).allSatisfy(p -> assertThat(p).exists());

    long scaledUp = System.nanoTime();
    lab.controlPlane().kubectlOk("scale", "aoebootpool/" + POOL, "-n", NS, "--replicas=" + REPLICAS);
    awaitServing(REPLICAS);
    System.out.printf("[measure] scale 1 -> %d under Retain -> pool serving the kept stores: %.2f s%n", REPLICAS,
        (System.nanoTime() - scaledUp) / 1e9);
    assertClientDataServed(REPLICAS);
  }

  @Test
  @Order(5)
  void poolDeletionUnderDeleteRemovesAllHostState() throws Exception {
    lab.controlPlane().kubectlOk("patch", "aoebootpool", POOL, "-n", NS, "--type=merge",
        "-p", "{\"spec\":{\"reclaimPolicy\":\"Delete\"}}");
    lab.controlPlane().kubectlOk("delete", "aoebootpool/" + POOL, "-n", NS, "--wait=true", "--timeout=120s");

    assertThat(slots()).isEmpty();
    assertThat(Exporters.on(lab.network().exporterInterface())).isEmpty();
    assertThat(cowStoreFiles()).isEmpty();
  }

  private void assertClientDataServed(int replicas) throws Exception {
    for (int n = 0; n < replicas; n++) {
      assertThat(client.read(target(n), LBA, SECTORS)).as("client %d's data on %s", n, target(n)).isEqualTo(written.get(n));
    }
  }

  private void awaitServing(int replicas) {
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      AoeBootPool pool = lab.controlPlane().client().resources(AoeBootPool.class).inNamespace(NS).withName(POOL).get();
      assertThat(pool.getStatus()).isNotNull();
      assertThat(pool.getStatus().getReadyReplicas()).isEqualTo(replicas);
      assertThat(slots()).hasSize(replicas);
    });
  }

  private long exporterPid(int slot) {
    return Exporters.on(lab.network().exporterInterface()).stream()
        .filter(e -> e.slot() == slot).findFirst().orElseThrow().pid();
  }

  private static AoeTarget target(int slot) {
    return new AoeTarget(SHELF, slot);
  }

  private AoeBootSlot slot(int n) {
    return lab.controlPlane().client().resources(AoeBootSlot.class).inNamespace(NS).withName(POOL + "-" + n).get();
  }

  private List<AoeBootSlot> slots() {
    return lab.controlPlane().client().resources(AoeBootSlot.class).inNamespace(NS).list().getItems().stream()
        .sorted(java.util.Comparator.comparingInt(s -> s.getSpec().getSlot()))
        .toList();
  }

  private static String nodeAvailable(AoeBootSlot slot) {
    List<Condition> conditions = slot.getStatus() == null ? null : slot.getStatus().getConditions();
    return conditions == null ? "absent" : conditions.stream()
        .filter(c -> SlotConditions.NODE_AVAILABLE.equals(c.getType()))
        .map(c -> c.getStatus() + " " + c.getReason()).findFirst().orElse("absent");
  }

  private List<String> events(String reason) {
    return lab.controlPlane().client().v1().events().inNamespace(NS).list().getItems().stream()
        .filter(e -> reason.equals(e.getReason())).map(e -> e.getMessage()).toList();
  }

  private List<Path> cowStoreFiles() throws Exception {
    try (Stream<Path> files = Files.walk(lab.scratch().stateDir())) {
      // Dot-files are the agent's node lock files (.cowherd-agent.lock, .losetup.lock), not COW data.
      return files.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).toList();
    }
  }
}
