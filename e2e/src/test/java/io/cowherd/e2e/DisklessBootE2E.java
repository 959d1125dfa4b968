package io.cowherd.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.e2e.support.BootImage;
import io.cowherd.e2e.support.Digests;
import io.cowherd.e2e.support.Exporters;
import io.cowherd.e2e.support.Lab;
import io.cowherd.e2e.support.PlainVblade;
import io.cowherd.e2e.support.QemuClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The job cowherd exists for, with real machines: diskless QEMU clients (TCG, virtio-net, no disk)
 * boot Debian's iPXE, which SAN-boots {@code aoe:e7.<slot>} from a pool of three on the bootable
 * image of {@code hack/make-boot-image.sh}; SYSLINUX loads Linux through int 13h, and the
 * initramfs finds its own target in iPXE's aBFT, loads {@code aoe}, and keeps a client marker on its
 * disk. Each slot must hold its own client's writes only; the origin is never written.
 *
 * <p>At most two VMs run at once (TCG on two shared cores). The same image served by a plain
 * read-only {@code vblade} on the origin file ({@code e8.0}, on a second exporter NIC of the same
 * segment) boots alongside, so the {@code [measure]} lines compare boot times in one run.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DisklessBootE2E {
  private static final int SHELF = 7;
  private static final AoeTarget BASELINE = new AoeTarget(8, 0);
  private static final String POOL = "diskless";
  private static final String NS = "default";
  private static final int IMAGE_MIB = 64;
  /** Generous: two TCG VMs share two cores with whatever else runs on this machine. */
  private static final Duration BOOT_LIMIT = Duration.ofSeconds(240);
  private static final Path WORK_DIR = Path.of("target", "e2e-diskless-boot").toAbsolutePath();
  private static final Path LOG_DIR = WORK_DIR.resolve("logs");

  private Lab lab;
  private PlainVblade baseline;
  private String originSha256;
  private final Map<Integer, Integer> boots = new TreeMap<>();
  private int baselineBoots;
  private final List<String> measurements = new ArrayList<>();
  private final Map<String, List<Double>> bootSeconds = new TreeMap<>();

  @BeforeAll
  void startLab() {
    Path image = BootImage.cached(Lab.findRepo(), IMAGE_MIB);
    lab = Lab.startWithOrigin(WORK_DIR, image);
    originSha256 = Digests.sha256(lab.originImage());
    assertThat(BootImage.readMarker(lab.originImage())).as("a fresh origin holds no client marker").isEmpty();
    baseline = PlainVblade.startReadOnly(BASELINE, lab.network().addExporterInterface(), lab.originImage(),
        LOG_DIR.resolve("plain-vblade-" + BASELINE + ".log"));
  }

  @AfterAll
  void stopLab() {
    System.out.println("[measure] summary (two TCG VMs at a time on this machine's two shared cores):");
    measurements.forEach(System.out::println);
    bootSeconds.forEach((servedBy, seconds) -> System.out.printf(Locale.ROOT,
        "[measure] %-12s mean QEMU start -> COWHERD-BOOT-OK %.1f s over %d boots (min %.1f s, max %.1f s)%n", servedBy,
        seconds.stream().mapToDouble(Double::doubleValue).average().orElse(0), seconds.size(),
        seconds.stream().mapToDouble(Double::doubleValue).min().orElse(0),
        seconds.stream().mapToDouble(Double::doubleValue).max().orElse(0)));
    if (baseline != null) {
      baseline.close();
    }
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  @Order(1)
  void aPoolOfThreeOnTheBootableImageServesThreeTargets() {
    lab.controlPlane().kubectlOk("apply", "-f", lab.writePoolYaml(POOL, SHELF, 3).toString());
    awaitPool(3, List.of("e7.0", "e7.1", "e7.2"));
    assertThat(slots()).extracting(s -> s.getStatus().getPhase()).containsOnly(SlotPhase.Serving);
  }

  @Test
  @Order(2)
  void threeClientsBootThroughIpxeFromTheirOwnSlotsAndEachWritesItsOwnMarker() {
    List<QemuClient> first = bootTogether(client(0), client(1));
    List<QemuClient> second = bootTogether(client(2), baselineClient());
    for (QemuClient c : List.of(first.get(0), first.get(1), second.get(0))) {
      assertBooted(c, "aBFT");
      assertThat(c.line(QemuClient.MARKER_NONE + c.target())).as(c.tail(15)).isPresent();
      assertThat(c.after(QemuClient.MARKER_WRITTEN)).as(c.tail(15))
          .hasValueSatisfying(m -> assertThat(m).startsWith(BootImage.expectedMarker(c.target().toString(), c.mac(), 1) + " "));
    }
    QemuClient plain = second.get(1);
    assertBooted(plain, "aBFT");
    assertThat(plain.line(QemuClient.MARKER_NOT_WRITTEN + BASELINE)).as("the plain vblade is read-only: %s", plain.tail(15))
        .isPresent();
  }

  @Test
  @Order(3)
  void eachCowStoreHoldsExactlyItsOwnClientsMarkerAndTheOriginIsUnchanged() throws IOException {
    byte[] origin = Files.readAllBytes(lab.originImage());
    assertThat(Digests.sha256(lab.originImage())).as("origin byte-identical to before the boots").isEqualTo(originSha256);
    for (AoeBootSlot slot : slots()) {
      int n = slot.getSpec().getSlot();
      Path cowStore = Path.of(slot.getStatus().getCowStorePath());
      assertThat(BootImage.readMarker(cowStore)).as("marker in %s", cowStore)
          .contains(BootImage.expectedMarker("e7." + n, QemuClient.macFor(n), 1));
      assertOnlyMarkerSectorDiffers(cowStore, origin);
    }
  }

  @Test
  @Order(4)
  void clientOneRebootedSeesItsOwnMarkerFromTheFirstBoot() {
    List<QemuClient> booted = bootTogether(client(1), baselineClient());
    QemuClient again = booted.getFirst();
    assertBooted(again, "aBFT");
    assertThat(again.after(QemuClient.MARKER_FOUND)).as(again.tail(15))
        .contains(BootImage.expectedMarker("e7.1", QemuClient.macFor(1), 1));
    assertThat(again.after(QemuClient.MARKER_WRITTEN)).as(again.tail(15))
        .hasValueSatisfying(m -> assertThat(m).startsWith(BootImage.expectedMarker("e7.1", QemuClient.macFor(1), 2) + " "));
    Map<Integer, String> markers = markersBySlot();
    assertThat(markers).containsExactly(
        Map.entry(0, BootImage.expectedMarker("e7.0", QemuClient.macFor(0), 1)),
        Map.entry(1, BootImage.expectedMarker("e7.1", QemuClient.macFor(1), 2)),
        Map.entry(2, BootImage.expectedMarker("e7.2", QemuClient.macFor(2), 1)));
    assertThat(Digests.sha256(lab.originImage())).isEqualTo(originSha256);
  }

  @Test
  @Order(5)
  void aClientPointedAtASlotThatDoesNotExistFailsWithIpxesTimeoutAndNothingElseChanges() {
    Map<String, Object> before = hostAndClusterState();
    AoeTarget missing = new AoeTarget(SHELF, 3);
    try (QemuClient lost = QemuClient.powerOn(lab.network(), LOG_DIR, "client-3-no-slot", missing,
        QemuClient.macFor(3), null)) {
      await().atMost(BOOT_LIMIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
          assertThat(lost.line(QemuClient.SANBOOT_FAILED + missing)).as(lost.tail(10)).isPresent());
      assertThat(lost.line(QemuClient.IPXE_NO_SAN_DEVICE)).as(lost.tail(10)).isPresent();
      assertThat(lost.line("COWHERD-BOOT-OK")).isEmpty();
      Duration gaveUp = lost.timeTo(QemuClient.IPXE_NO_SAN_DEVICE).orElseThrow()
          .minus(lost.timeTo("sanboot aoe:").orElseThrow());
      record(String.format(Locale.ROOT, "[measure] iPXE gave up on missing target %s %.1f s after sanboot "
          + "(\"%s\")", missing, gaveUp.toMillis() / 1000.0, QemuClient.IPXE_NO_SAN_DEVICE));
    }
    assertThat(hostAndClusterState()).isEqualTo(before);
  }

  @Test
  @Order(6)
  void scalingToTwoWhileClientTwoIsOffRemovesSlotTwoAndClientsZeroAndOneStillBoot() {
    Path slotTwoStore = Path.of(slots().get(2).getStatus().getCowStorePath());
    assertThat(slotTwoStore).exists();
    lab.controlPlane().kubectlOk("scale", "aoebootpool/" + POOL, "-n", NS, "--replicas=2");
    awaitPool(2, List.of("e7.0", "e7.1"));
    assertThat(slotTwoStore).as("slot 2's COW store").doesNotExist();
    List<QemuClient> booted = bootTogether(client(0), client(1));
    assertThat(booted.get(0).after(QemuClient.MARKER_FOUND)).as(booted.get(0).tail(15))
        .contains(BootImage.expectedMarker("e7.0", QemuClient.macFor(0), 1));
    assertThat(booted.get(1).after(QemuClient.MARKER_FOUND)).as(booted.get(1).tail(15))
        .contains(BootImage.expectedMarker("e7.1", QemuClient.macFor(1), 2));
    booted.forEach(c -> assertBooted(c, "aBFT"));
    assertThat(Digests.sha256(lab.originImage())).isEqualTo(originSha256);
  }

  /** A client of the pool: client n boots from e7.n with MAC {@link QemuClient#macFor}(n). */
  private Boot client(int n) {
    int boot = boots.merge(n, 1, Integer::sum);
    return new Boot("client-" + n + "-boot-" + boot, new AoeTarget(SHELF, n), QemuClient.macFor(n), "cowherd");
  }

  private Boot baselineClient() {
    baselineBoots++;
    return new Boot("plain-vblade-client-boot-" + baselineBoots, BASELINE, QemuClient.macFor(0x80), "plain vblade");
  }

  private record Boot(String name, AoeTarget target, String mac, String servedBy) {}

  /**
   * Powers on at most two clients together, waits until each has powered itself off (the
   * initramfs does after its marker), and records their boot times.
   */
  private List<QemuClient> bootTogether(Boot... wanted) {
    assertThat(wanted.length).as("at most two VMs at once").isLessThanOrEqualTo(2);
    List<QemuClient> started = new ArrayList<>();
    try {
      for (Boot b : wanted) {
        started.add(QemuClient.powerOn(lab.network(), LOG_DIR, b.name(), b.target(), b.mac(), null));
      }
      await().atMost(BOOT_LIMIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
        for (QemuClient c : started) {
          assertThat(c.poweredOff()).as("%s powered off after its marker; %s", c, c.tail(12)).isTrue();
        }
      });
    } finally {
      started.forEach(QemuClient::close);
    }
    for (int i = 0; i < started.size(); i++) {
      measure(started.get(i), wanted[i].servedBy(), started.size());
    }
    return started;
  }

  private void measure(QemuClient c, String servedBy, int together) {
    Duration ok = c.timeTo(QemuClient.BOOT_OK).orElse(null);
    Duration syslinux = c.timeTo("SYSLINUX").orElse(null);
    Duration loaded = c.timeTo("Loading /initrd.img").orElse(null);
    if (ok == null || syslinux == null || loaded == null) {
      return; // assertBooted reports it
    }
    bootSeconds.computeIfAbsent(servedBy, k -> new ArrayList<>()).add(seconds(ok));
    record(String.format(Locale.ROOT,
        "[measure] boot %-26s %-12s %s: QEMU start -> COWHERD-BOOT-OK %5.1f s (SYSLINUX at %4.1f s, "
            + "kernel+initramfs read over AoE in %4.1f s) with %d VM(s) running",
        c.name(), servedBy, c.target(), seconds(ok), seconds(syslinux), seconds(loaded.minus(syslinux)), together));
  }

  private void record(String line) {
    System.out.println(line);
    measurements.add(line);
  }

  private static double seconds(Duration d) {
    return d.toMillis() / 1000.0;
  }

  private static void assertBooted(QemuClient c, String via) {
    assertThat(c.line(QemuClient.BOOT_OK + c.target() + " mac=" + c.mac() + " via=" + via))
        .as("%s reached its boot marker; %s", c, c.tail(25)).isPresent();
    assertThat(c.line("COWHERD-BOOT-FAILED")).as(c.tail(15)).isEmpty();
    assertThat(c.exitCode()).as("QEMU exit after poweroff").hasValue(0);
  }

  private void assertOnlyMarkerSectorDiffers(Path cowStore, byte[] origin) throws IOException {
    byte[] store = Files.readAllBytes(cowStore);
    assertThat(store.length).as("size of %s", cowStore).isEqualTo(origin.length);
    int marker = (int) BootImage.markerSector(origin.length / BootImage.SECTOR_BYTES) * BootImage.SECTOR_BYTES;
    List<Long> differing = new ArrayList<>();
    for (int off = 0; off < origin.length; off += BootImage.SECTOR_BYTES) {
      if (off != marker && !Arrays.equals(store, off, off + BootImage.SECTOR_BYTES, origin, off,
          off + BootImage.SECTOR_BYTES)) {
        differing.add((long) off / BootImage.SECTOR_BYTES);
      }
    }
    assertThat(differing).as("sectors of %s other than the marker sector that differ from the origin", cowStore)
        .isEmpty();
  }

  private Map<Integer, String> markersBySlot() {
    Map<Integer, String> markers = new TreeMap<>();
    for (AoeBootSlot s : slots()) {
      markers.put(s.getSpec().getSlot(), BootImage.readMarker(Path.of(s.getStatus().getCowStorePath())).orElse(""));
    }
    return markers;
  }

  /** What must not change when a client asks for a target that does not exist. */
  private Map<String, Object> hostAndClusterState() {
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("origin", Digests.sha256(lab.originImage()));
    for (AoeBootSlot s : slots()) {
      state.put(s.getMetadata().getName(), List.of(String.valueOf(s.getMetadata().getGeneration()),
          String.valueOf(s.getStatus().getPhase()), s.getStatus().getTarget(), String.valueOf(s.getStatus().getExporterPid()),
          String.valueOf(s.getStatus().getRestarts())));
      state.put(s.getMetadata().getName() + " COW store", Digests.sha256(Path.of(s.getStatus().getCowStorePath())));
    }
    state.put("exporters", Exporters.on(lab.network().exporterInterface()).stream()
        .map(e -> e.target() + " pid " + e.pid()).sorted().toList());
    AoeBootPool pool = pool();
    state.put("pool", List.of(pool.getMetadata().getGeneration(), pool.getStatus().getReplicas(),
        pool.getStatus().getReadyReplicas()));
    return state;
  }

  private void awaitPool(int replicas, List<String> targets) {
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      AoeBootPool pool = pool();
      assertThat(pool.getStatus()).isNotNull();
      assertThat(pool.getStatus().getReplicas()).as("pool status replicas").isEqualTo(replicas);
      assertThat(pool.getStatus().getReadyReplicas()).as("pool status readyReplicas").isEqualTo(replicas);
      assertThat(slots()).as("slots: %s", slots().stream().map(s -> s.getMetadata().getName() + " "
          + (s.getStatus() == null ? "no status" : s.getStatus().getPhase() + " " + s.getStatus().getMessage())).toList())
          .hasSize(replicas);
      assertThat(Exporters.on(lab.network().exporterInterface())).extracting(Exporters.Exporter::target)
          .containsExactlyInAnyOrderElementsOf(targets);
    });
  }

  private AoeBootPool pool() {
    return lab.controlPlane().client().resources(AoeBootPool.class).inNamespace(NS).withName(POOL).get();
  }

  private List<AoeBootSlot> slots() {
    return lab.controlPlane().client().resources(AoeBootSlot.class).inNamespace(NS).list().getItems().stream()
        .sorted(Comparator.comparingInt(s -> s.getSpec().getSlot()))
        .toList();
  }
}
