package io.cowherd.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.DiscoveredTarget;
import io.cowherd.aoe.initiator.InitiatorOptions;
import io.cowherd.e2e.support.Commands;
import io.cowherd.e2e.support.Exporters;
import io.cowherd.e2e.support.Lab;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The first complete path through cowherd with real parts at every step: a real kube-apiserver and
 * etcd, the operator and one node agent as separate JVMs, vblade on a veth whose segment reaches a
 * client namespace through a bridge, and cowherd's own AoE initiator in that client namespace.
 * Steps run in order and share one lab.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PoolLifecycleE2E {
  private static final int SHELF = 7;
  private static final String POOL = "lab";
  private static final String NS = "default";

  private Lab lab;
  private AoeInitiator client;
  private byte[] origin;
  private byte[] writtenToSlotOne;
  /** The image slot 0 serves: the origin, until the OnReboot test moves it to v2. */
  private byte[] slotZeroImage;
  private static final long WRITTEN_LBA = 1000;

  @BeforeAll
  void startLab() throws Exception {
    lab = Lab.start(Path.of("target", "e2e-pool-lifecycle"), 32);
    client = AoeInitiator.openInNamespace(lab.network().addClientNamespace(), "eth0", InitiatorOptions.defaults());
    origin = Files.readAllBytes(lab.originImage());
    slotZeroImage = origin;
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
  void applyingAPoolOfThreeMakesThreeServingSlotsAndAReadyPool() throws Exception {
    long started = System.nanoTime();
    lab.controlPlane().kubectlOk("apply", "-f", lab.writePoolYaml(POOL, SHELF, 3).toString());
    awaitPoolReady(3, Duration.ofSeconds(90));
    System.out.printf("[measure] kubectl apply -> pool Ready, replicas 3: %.2f s%n", (System.nanoTime() - started) / 1e9);
    System.out.println(lab.controlPlane().kubectlOk("get", "aoebootpools,aoebootslots", "-n", NS));
    assertThat(slots()).extracting(s -> s.getStatus().getPhase()).containsOnly(SlotPhase.Serving).hasSize(3);
  }

  @Test
  @Order(2)
  void discoveryFindsExactlyTheThreeTargetsEachFromOneMacAndSlotZeroServesTheImage() throws Exception {
    List<DiscoveredTarget> found = client.discover(Duration.ofSeconds(2));
    assertThat(found).extracting(d -> d.target().toString()).containsExactlyInAnyOrder("e7.0", "e7.1", "e7.2");
    assertThat(found).extracting(DiscoveredTarget::mac).containsOnly(MacAddress.parse(lab.exporterMac()));
    assertThat(client.identify(target(0)).sectorCount()).isEqualTo(origin.length / 512L);
    long t0 = System.nanoTime();
    byte[] whole = client.read(target(0), 0, origin.length / 512);
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf("[measure] full read of e7.0 (%d MiB): %.2f s, %.1f MB/s%n",
        origin.length >> 20, seconds, origin.length / seconds / 1e6);
    assertThat(Arrays.equals(whole, origin)).as("slot 0 serves the origin byte for byte").isTrue();
  }

  @Test
  @Order(3)
  void writesToSlotOneStayInSlotOne() throws Exception {
    byte[] written = new byte[8 * 512];
    new Random(42).nextBytes(written);
    writtenToSlotOne = written;
    long lba = WRITTEN_LBA;
    client.write(target(1), lba, written);
    assertThat(client.read(target(1), lba, 8)).isEqualTo(written);
    byte[] originPart = Arrays.copyOfRange(origin, (int) lba * 512, (int) lba * 512 + written.length);
    assertThat(client.read(target(0), lba, 8)).as("slot 0 unchanged").isEqualTo(originPart);
    assertThat(client.read(target(2), lba, 8)).as("slot 2 unchanged").isEqualTo(originPart);
    assertThat(Files.readAllBytes(lab.originImage())).as("origin file unchanged").isEqualTo(origin);
    Path slotOneStore = Path.of(slots().get(1).getStatus().getCowStorePath());
    byte[] stored = Files.readAllBytes(slotOneStore);
    assertThat(Arrays.copyOfRange(stored, (int) lba * 512, (int) lba * 512 + written.length))
        .as("the write is in slot 1's COW store %s", slotOneStore).isEqualTo(written);
  }

  @Test
  @Order(4)
  void aNewImageMovesNoSlotAndAResetRebuildsOneSlotOnItDiscardingItsWrites() throws Exception {
    byte[] v2 = origin.clone();
    byte[] marker = "cowherd origin v2".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    System.arraycopy(marker, 0, v2, 3 * 512, marker.length);
    Path v2Path = lab.originImage().resolveSibling("origin-v2.img");
    Files.write(v2Path, v2);
    lab.controlPlane().kubectlOk("patch", "aoebootpool/" + POOL, "-n", NS, "--type", "merge",
        "-p", "{\"spec\":{\"image\":\"" + v2Path + "\"}}");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(pool().getStatus().getStaleReplicas()).isEqualTo(3));
    assertThat(client.read(target(1), WRITTEN_LBA, 8)).as("a new image alone moves no slot").isEqualTo(writtenToSlotOne);

    long started = System.nanoTime();
    lab.controlPlane().kubectlOk("annotate", "aoebootslot/" + POOL + "-1", "-n", NS,
        "cowherd.io/reset-requested=e2e-1", "--overwrite");
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
      AoeBootSlot slot = slots().get(1);
      assertThat(slot.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
      assertThat(slot.getStatus().getObservedGeneration()).isEqualTo(slot.getMetadata().getGeneration());
      assertThat(slot.getStatus().getOrigin().getRebuild()).isEqualTo("reset-e2e-1");
    });
    System.out.printf("[measure] kubectl annotate reset -> slot Serving on the new origin (reflink, %d MiB): %.2f s%n",
        origin.length >> 20, (System.nanoTime() - started) / 1e9);
    byte[] v2Part = Arrays.copyOfRange(v2, (int) WRITTEN_LBA * 512, (int) WRITTEN_LBA * 512 + 8 * 512);
    assertThat(client.read(target(1), WRITTEN_LBA, 8)).as("the client's writes are discarded").isEqualTo(v2Part);
    assertThat(client.read(target(1), 3, 1)).as("slot 1 serves v2").isEqualTo(Arrays.copyOfRange(v2, 3 * 512, 4 * 512));
    assertThat(client.read(target(0), 3, 1)).as("slot 0 still serves v1")
        .isEqualTo(Arrays.copyOfRange(origin, 3 * 512, 4 * 512));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(pool().getStatus().getUpdatedReplicas()).isEqualTo(1);
      assertThat(pool().getStatus().getStaleReplicas()).isEqualTo(2);
    });
    System.out.println(lab.controlPlane().kubectlOk("get", "aoebootpools", "-n", NS));
    assertThat(lab.controlPlane().kubectlOk("get", "events", "-n", NS, "--field-selector",
        "involvedObject.name=" + POOL + "-1,reason=Rebuilt", "-o", "jsonpath={.items[*].message}"))
        .contains(lab.originImage().toString()).contains("origin-v2.img");
    assertThat(Files.readAllBytes(lab.originImage())).as("origin v1 unchanged").isEqualTo(origin);
  }

  /**
   * OnReboot through the agent's real boot endpoint: the stale slot 0's client asks for its boot
   * script; the endpoint holds it, the operator moves the slot, the agent rebuilds it on v2, and the
   * script is answered. Prints the time from the first request to the slot rebuilt and to the script
   * (this test asks every 100 ms; iPXE asks again after 3 s).
   */
  @Test
  @Order(5)
  void onRebootAStaleClientsBootScriptRequestRebuildsItsSlotBeforeTheScriptIsAnswered() throws Exception {
    String mac = "52:54:00:e2:13:00";
    lab.controlPlane().kubectlOk("patch", "aoebootpool/" + POOL, "-n", NS, "--type", "merge",
        "-p", "{\"spec\":{\"updateStrategy\":\"OnReboot\",\"clients\":{\"binding\":false}}}");
    Path clientYaml = Files.writeString(Files.createTempFile("client", ".yaml"), String.join("\n",
        "apiVersion: cowherd.io/v1alpha1", "kind: AoeBootClient", "metadata:", "  name: pc-0", "  namespace: " + NS,
        "spec:", "  mac: \"" + mac + "\"", "  pool: " + POOL, "  slot: 0", ""));
    lab.controlPlane().kubectlOk("apply", "-f", clientYaml.toString());
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(lab.controlPlane().client()
        .resources(io.cowherd.api.v1alpha1.AoeBootClient.class).inNamespace(NS).withName("pc-0").get().getStatus()
        .getSlot()).isEqualTo(0));
    assertThat(slots().get(0).getSpec().getImage()).as("slot 0 is stale").isEqualTo(lab.originImage().toString());

    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    java.net.URI script = java.net.URI.create("http://127.0.0.1:" + lab.bootPort() + "/boot/v1/ipxe?mac=" + mac);
    long started = System.nanoTime();
    String first = http.send(java.net.http.HttpRequest.newBuilder(script).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    assertThat(first).as("held, not answered").contains("moves to the new pool image").doesNotContain("sanboot");
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
      AoeBootSlot slot = slots().get(0);
      assertThat(slot.getSpec().getRebuild()).startsWith("reboot-");
      assertThat(slot.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
      assertThat(slot.getStatus().getObservedGeneration()).isEqualTo(slot.getMetadata().getGeneration());
      assertThat(slot.getStatus().getOrigin().getRebuild()).isEqualTo(slot.getSpec().getRebuild());
    });
    double rebuilt = (System.nanoTime() - started) / 1e9;
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
        assertThat(http.send(java.net.http.HttpRequest.newBuilder(script).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString()).body()).contains("sanboot"));
    double answered = (System.nanoTime() - started) / 1e9;
    System.out.printf("[measure] OnReboot (reflink, %d MiB): boot-script request -> slot rebuilt on the new origin"
        + " %.2f s, -> script answered %.2f s (polled every 100 ms)%n", origin.length >> 20, rebuilt, answered);
    byte[] v2 = Files.readAllBytes(lab.originImage().resolveSibling("origin-v2.img"));
    assertThat(client.read(target(0), 3, 1)).as("slot 0 serves v2").isEqualTo(Arrays.copyOfRange(v2, 3 * 512, 4 * 512));
    slotZeroImage = v2;
    lab.controlPlane().kubectlOk("delete", "-f", clientYaml.toString());
  }

  @Test
  @Order(6)
  void scalingToOneRemovesTheHighestSlotsWithTheirExportersAndCowStores() throws Exception {
    List<String> cowStores = slots().stream().map(s -> s.getStatus().getCowStorePath()).toList();
    lab.controlPlane().kubectlOk("scale", "aoebootpool/" + POOL, "-n", NS, "--replicas=1");
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      assertThat(slots()).extracting(s -> s.getMetadata().getName()).containsExactly(POOL + "-0");
      assertThat(Exporters.on(lab.network().exporterInterface())).extracting(Exporters.Exporter::target)
          .containsExactly("e7.0");
      AoeBootPool pool = pool();
      assertThat(pool.getStatus().getReplicas()).isEqualTo(1);
      assertThat(pool.getStatus().getReadyReplicas()).isEqualTo(1);
    });
    assertThat(Path.of(cowStores.get(0))).exists();
    assertThat(Path.of(cowStores.get(1))).doesNotExist();
    assertThat(Path.of(cowStores.get(2))).doesNotExist();
    assertThat(client.read(target(0), 0, 8)).isEqualTo(Arrays.copyOf(slotZeroImage, 8 * 512));
  }

  @Test
  @Order(7)
  void aKilledExporterServesAgainWithinFiveSecondsAndCountsARestart() throws Exception {
    long pid = Exporters.on(lab.network().exporterInterface()).getFirst().pid();
    Commands.run("kill", "-KILL", Long.toString(pid));
    long killed = System.nanoTime();
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
        assertThat(Exporters.on(lab.network().exporterInterface()))
            .singleElement().extracting(Exporters.Exporter::pid).isNotEqualTo(pid));
    assertThat(client.read(target(0), 0, 8)).isEqualTo(Arrays.copyOf(slotZeroImage, 8 * 512));
    System.out.printf("[measure] SIGKILLed exporter serving again after %.2f s%n", (System.nanoTime() - killed) / 1e9);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      AoeBootSlot slot = slots().getFirst();
      assertThat(slot.getStatus().getRestarts()).isEqualTo(1);
      assertThat(slot.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
    });
  }

  @Test
  @Order(8)
  void deletingThePoolLeavesNoExporterCowStoreOrSlot() throws Exception {
    lab.controlPlane().kubectlOk("delete", "aoebootpool/" + POOL, "-n", NS, "--wait=false");
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      assertThat(slots()).isEmpty();
      assertThat(lab.controlPlane().client().resources(AoeBootPool.class).inNamespace(NS).withName(POOL).get()).isNull();
    });
    assertThat(Exporters.on(lab.network().exporterInterface())).isEmpty();
    assertThat(cowStoreFiles()).isEmpty();
  }

  @Test
  @Order(9)
  void invalidPoolsAreRejectedAtAdmissionNamingTheFieldAndTheHostIsUnchanged() throws Exception {
    Map<String, String> cases = Map.of(
        "shelf: 4095", "spec.shelf",
        "shelf: 65535", "spec.shelf",
        "replicas: 256", "spec.replicas",
        "replicas: -1", "spec.replicas",
        "interface: \"eth0;reboot\"", "spec.interface",
        "image: relative/disk.img", "spec.image");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      Path yaml = lab.writePoolYamlWith("bad", SHELF + 1, 1, c.getKey());
      Commands.Result r = lab.controlPlane().kubectl("apply", "-f", yaml.toString());
      assertThat(r.exitCode()).as("apply with %s must fail", c.getKey()).isNotZero();
      assertThat(r.stderr()).as("rejection of %s names the field", c.getKey()).contains(c.getValue());
    }
    assertThat(lab.controlPlane().client().resources(AoeBootPool.class).inNamespace(NS).list().getItems()).isEmpty();
    assertThat(Exporters.on(lab.network().exporterInterface())).isEmpty();
    assertThat(cowStoreFiles()).isEmpty();
  }

  @Test
  @Order(10)
  void measureApplyToReadyForThirtyTwoReplicas() throws Exception {
    long started = System.nanoTime();
    lab.controlPlane().kubectlOk("apply", "-f", lab.writePoolYaml(POOL, SHELF, 32).toString());
    awaitPoolReady(32, Duration.ofSeconds(240));
    System.out.printf("[measure] kubectl apply -> pool Ready, replicas 32: %.2f s%n", (System.nanoTime() - started) / 1e9);
    assertThat(client.discover(Duration.ofSeconds(2))).hasSize(32);
    lab.controlPlane().kubectlOk("delete", "aoebootpool/" + POOL, "-n", NS, "--wait=true", "--timeout=120s");
    assertThat(Exporters.on(lab.network().exporterInterface())).isEmpty();
  }

  private static AoeTarget target(int slot) {
    return new AoeTarget(SHELF, slot);
  }

  private void awaitPoolReady(int replicas, Duration limit) {
    await().atMost(limit).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      AoeBootPool pool = pool();
      assertThat(pool.getStatus()).isNotNull();
      assertThat(pool.getStatus().getReadyReplicas()).isEqualTo(replicas);
      assertThat(pool.getStatus().getConditions())
          .anySatisfy(c -> {
            assertThat(c.getType()).isEqualTo("Ready");
            assertThat(c.getStatus()).isEqualTo("True");
          });
    });
  }

  private AoeBootPool pool() {
    return lab.controlPlane().client().resources(AoeBootPool.class).inNamespace(NS).withName(POOL).get();
  }

  private List<AoeBootSlot> slots() {
    return lab.controlPlane().client().resources(AoeBootSlot.class).inNamespace(NS).list().getItems().stream()
        .sorted(java.util.Comparator.comparingInt(s -> s.getSpec().getSlot()))
        .toList();
  }

  private List<Path> cowStoreFiles() throws Exception {
    try (Stream<Path> files = Files.walk(lab.scratch().stateDir())) {
      // Dot-files are the agent's node lock files (.cowherd-agent.lock, .losetup.lock), not COW data.
      return files.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).toList();
    }
  }
}
