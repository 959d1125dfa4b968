package io.cowherd.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.api.SlotOrigins;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.e2e.support.BootImage;
import io.cowherd.e2e.support.BootNetwork;
import io.cowherd.e2e.support.Lab;
import io.cowherd.e2e.support.QemuClient;
import io.fabric8.kubernetes.api.model.Event;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 13 end to end with QEMU clients: a new origin rolled out to a running pool with {@code
 * updateStrategy: OnReboot}, then rolled back with a reset. The clients boot from their NIC's PXE ROM
 * through cowherd's proxy DHCP ({@link BootNetwork}), are enrolled by MAC, and SAN-boot the bootable
 * image in its write-loop variant ({@link BootImage#cachedWriteLoop}): after their marker they keep
 * writing and verifying numbered blocks, so "running" means doing real I/O on their disk.
 *
 * <p>v1 and v2 are two new files made from the cached image ({@link BootImage#copyWithOriginLabel}):
 * they differ only in their {@code syslinux.cfg}, whose kernel line carries {@code cowherd.origin=v1}
 * or {@code v2}, so a client's console ({@code Kernel command line: …}) says which origin it booted.
 * v2 is a copy of v1, never v1 written in place.
 *
 * <ol>
 *   <li>pool on v1, two clients boot, write their markers and keep writing;
 *   <li>{@code kubectl patch} to v2 with {@code OnReboot}: both slots stale, both clients keep running
 *       on v1 without an I/O error, their markers unchanged;
 *   <li>client A (the "client 0" of the issue) is powered off and on: the boot endpoint holds its
 *       script until its slot is rebuilt on v2; it boots v2 on a fresh disk; client B still runs v1 with
 *       its data; {@code kubectl get aoebootpools} shows 1 updated, 1 stale;
 *   <li>roll back ({@code spec.image} v1 again): a reset of A's slot while A runs is refused; A is
 *       powered off and the refused value forced; A boots v1 on a fresh disk again.
 * </ol>
 *
 * <p>{@code [measure]} lines: power-on of A → its slot rebuilt on v2 ({@code Serving}, the token
 * done) and → its marker written.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OriginRolloutE2E {
  private static final String NS = "origin-rollout";
  private static final String POOL = "lab";
  private static final int SHELF = 9;
  private static final int IMAGE_MIB = 64;
  private static final Duration BOOT_LIMIT = Duration.ofSeconds(300);
  private static final Path WORK_DIR = Path.of("target", "e2e-origin-rollout").toAbsolutePath();
  private static final Path LOG_DIR = WORK_DIR.resolve("logs");
  private static final String MAC_A = "52:54:00:0e:13:0a";
  private static final String MAC_B = "52:54:00:0e:13:0b";
  private static final Pattern BOOT_OK = Pattern.compile(Pattern.quote(QemuClient.BOOT_OK) + "(e[0-9]+\\.[0-9]+) mac=");
  private static final Pattern IO_OK = Pattern.compile("^COWHERD-IO ([0-9]+) ok ");

  private Lab lab;
  private Path v1;
  private Path v2;
  private final Map<String, QemuClient> running = new TreeMap<>();
  private final Map<String, String> targetOf = new TreeMap<>();
  private final Map<String, Integer> bootsOf = new TreeMap<>();
  private final List<String> measurements = new ArrayList<>();

  @BeforeAll
  void startLab() throws IOException {
    Files.createDirectories(WORK_DIR);
    Path cached = BootImage.cachedWriteLoop(Lab.findRepo(), IMAGE_MIB);
    Path v1Template = WORK_DIR.resolve("origin-v1-template.img");
    Files.deleteIfExists(v1Template);
    BootImage.copyWithOriginLabel(cached, v1Template, "v1");
    lab = Lab.startWithOrigin(WORK_DIR, v1Template);
    v1 = lab.originImage();
    v2 = BootImage.copyWithOriginLabel(v1, v1.resolveSibling("origin-v2.img"), "v2");
    BootNetwork.withProxyDhcp(lab, LOG_DIR);
    lab.controlPlane().kubectlOk("create", "namespace", NS);
    lab.controlPlane().kubectlOk("apply", "-f", writeYaml("pool.yaml", "apiVersion: cowherd.io/v1alpha1\n"
        + "kind: AoeBootPool\nmetadata:\n  name: " + POOL + "\n  namespace: " + NS + "\nspec:\n  image: " + v1
        + "\n  replicas: 2\n  interface: " + lab.network().exporterInterface() + "\n  shelf: " + SHELF
        + "\n  cow:\n    backend: reflink\n  clients:\n    enrollment: Automatic\n").toString());
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).untilAsserted(() ->
        assertThat(pool().getStatus().getReadyReplicas()).isEqualTo(2));
  }

  @AfterAll
  void stopLab() {
    running.values().forEach(QemuClient::close);
    System.out.println("[measure] summary (TCG, two shared cores):");
    measurements.forEach(System.out::println);
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  @Order(1)
  void onV1TwoClientsBootWriteTheirMarkersAndKeepWriting() {
    QemuClient a = power(MAC_A);
    // A first, so that it is enrolled first; B once A has its script.
    await().atMost(BOOT_LIMIT).pollInterval(Duration.ofMillis(250)).until(() -> a.line("Filename: http://").isPresent());
    QemuClient b = power(MAC_B);
    for (QemuClient c : List.of(a, b)) {
      awaitWriting(c, 3);
      String target = bootedTarget(c);
      targetOf.put(c.mac(), target);
      assertThat(origin(c)).as(c.tail(20)).isEqualTo("v1");
      assertThat(c.line(QemuClient.MARKER_NONE + target)).as(c.tail(20)).isPresent();
      assertThat(c.after(QemuClient.MARKER_WRITTEN)).as(c.tail(20))
          .hasValueSatisfying(m -> assertThat(m).startsWith(BootImage.expectedMarker(target, c.mac(), 1) + " "));
      measure(c, "first boot on v1");
    }
    assertThat(targetOf.values()).as("one slot per MAC").doesNotHaveDuplicates().hasSize(2);
    assertThat(storeMarker(MAC_A)).contains(BootImage.expectedMarker(targetOf.get(MAC_A), MAC_A, 1));
    assertThat(storeMarker(MAC_B)).contains(BootImage.expectedMarker(targetOf.get(MAC_B), MAC_B, 1));
  }

  @Test
  @Order(2)
  void patchedToV2WithOnRebootBothSlotsAreStaleAndBothClientsKeepRunningOnV1() {
    byte[] v1Bytes = readAll(v1);
    lab.controlPlane().kubectlOk("patch", "aoebootpool/" + POOL, "-n", NS, "--type", "merge",
        "-p", "{\"spec\":{\"image\":\"" + v2 + "\",\"updateStrategy\":\"OnReboot\"}}");
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      AoeBootPool pool = pool();
      assertThat(pool.getStatus().getStaleReplicas()).isEqualTo(2);
      assertThat(pool.getStatus().getUpdatedReplicas()).isZero();
      assertThat(slots()).allSatisfy(s -> assertThat(s.getStatus().getOrigin().getStale()).isTrue());
    });
    Map<String, Integer> ioAtPatch = new TreeMap<>();
    running.forEach((mac, c) -> ioAtPatch.put(mac, lastIo(c)));
    for (QemuClient c : running.values()) {
      awaitWriting(c, ioAtPatch.get(c.mac()) + 10);
      assertThat(c.console()).as("no reboot").filteredOn(l -> l.text().startsWith(QemuClient.BOOT_OK)).hasSize(1);
      assertThat(origin(c)).isEqualTo("v1");
    }
    assertThat(slots()).allSatisfy(s -> {
      assertThat(s.getSpec().getImage()).as("no slot moved").isEqualTo(v1.toString());
      assertThat(s.getStatus().getOrigin().getPath()).isEqualTo(v1.toString());
    });
    assertThat(storeMarker(MAC_A)).contains(BootImage.expectedMarker(targetOf.get(MAC_A), MAC_A, 1));
    assertThat(storeMarker(MAC_B)).contains(BootImage.expectedMarker(targetOf.get(MAC_B), MAC_B, 1));
    assertThat(Arrays.equals(readAll(v1), v1Bytes)).as("v1 unchanged").isTrue();
  }

  @Test
  @Order(3)
  void rebootedClientAComesUpOnV2WithAFreshDiskWhileBRunsOnV1WithItsData() {
    String slotA = slotName(MAC_A);
    String tokenBefore = slot(slotA).getSpec().getRebuild();
    running.remove(MAC_A).close(); // pull the plug: a crash counts as a reboot
    int ioB = lastIo(running.get(MAC_B));
    long poweredOn = System.nanoTime();
    QemuClient a = power(MAC_A);
    await().atMost(BOOT_LIMIT).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
      AoeBootSlot s = slot(slotA);
      assertThat(s.getSpec().getImage()).isEqualTo(v2.toString());
      assertThat(s.getSpec().getRebuild()).startsWith(SlotOrigins.REBOOT_PREFIX).isNotEqualTo(tokenBefore);
      assertThat(s.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
      assertThat(s.getStatus().getObservedGeneration()).isEqualTo(s.getMetadata().getGeneration());
      assertThat(s.getStatus().getOrigin().getRebuild()).isEqualTo(s.getSpec().getRebuild());
      assertThat(s.getStatus().getOrigin().getPath()).isEqualTo(v2.toString());
    });
    double rebuilt = (System.nanoTime() - poweredOn) / 1e9;
    awaitWriting(a, 3);
    String target = bootedTarget(a);
    assertThat(target).as("A keeps its slot").isEqualTo(targetOf.get(MAC_A));
    assertThat(a.line("moves to the new pool image")).as("held by the boot endpoint; " + a.tail(30)).isPresent();
    // iPXE wraps the message at 80 columns, mid-word: the lines joined name v2.
    assertThat(a.console().stream().map(QemuClient.ConsoleLine::text).reduce("", String::concat))
        .contains("moves to the new pool image " + v2);
    assertThat(origin(a)).as(a.tail(30)).isEqualTo("v2");
    assertThat(a.line(QemuClient.MARKER_NONE + target)).as("a fresh disk; " + a.tail(30)).isPresent();
    assertThat(a.after(QemuClient.MARKER_WRITTEN)).hasValueSatisfying(m ->
        assertThat(m).startsWith(BootImage.expectedMarker(target, MAC_A, 1) + " "));
    double marker = a.timeTo(QemuClient.MARKER_WRITTEN).orElseThrow().toMillis() / 1000.0;
    record(String.format(Locale.ROOT, "[measure] OnReboot with a QEMU client (reflink, %d MiB): power-on -> slot"
        + " rebuilt on v2 %.1f s, -> held message on the console %.1f s, -> marker written on v2 %.1f s", IMAGE_MIB,
        rebuilt, a.timeTo("moves to the new pool image").orElseThrow().toMillis() / 1000.0, marker));
    measure(a, "OnReboot onto v2");
    assertThat(storeMarker(MAC_A)).contains(BootImage.expectedMarker(target, MAC_A, 1));

    QemuClient b = running.get(MAC_B);
    awaitWriting(b, ioB + 10);
    assertThat(origin(b)).isEqualTo("v1");
    assertThat(storeMarker(MAC_B)).as("B's data").contains(BootImage.expectedMarker(targetOf.get(MAC_B), MAC_B, 1));
    AoeBootSlot slotB = slot(slotName(MAC_B));
    assertThat(slotB.getSpec().getImage()).isEqualTo(v1.toString());
    assertThat(slotB.getStatus().getOrigin().getStale()).isTrue();

    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      Map<String, String> row = kubectlGetPool();
      assertThat(row).containsEntry("UPDATED", "1").containsEntry("STALE", "1");
    });
    System.out.println(lab.controlPlane().kubectlOk("get", "aoebootpools,aoebootslots", "-n", NS, "-o", "wide"));
    assertThat(rebuiltEvents(slotA)).anySatisfy(m -> assertThat(m).startsWith("rebuilt for " + SlotOrigins.REBOOT_PREFIX)
        .contains("built from " + v1 + " [").contains("new store from " + v2 + " ["));
  }

  @Test
  @Order(4)
  void rolledBackAResetOfARunningClientIsRefusedAndForcedOncePoweredOffItBootsV1Again() {
    String slotA = slotName(MAC_A);
    lab.controlPlane().kubectlOk("patch", "aoebootpool/" + POOL, "-n", NS, "--type", "merge",
        "-p", "{\"spec\":{\"image\":\"" + v1 + "\"}}");
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      assertThat(slot(slotA).getStatus().getOrigin().getStale()).isTrue();
      assertThat(slot(slotName(MAC_B)).getStatus().getOrigin().getStale()).isFalse();
      assertThat(pool().getStatus().getStaleReplicas()).isEqualTo(1);
      assertThat(pool().getStatus().getUpdatedReplicas()).isEqualTo(1);
    });
    assertThat(slot(slotName(MAC_B)).getSpec().getImage()).as("B never moved").isEqualTo(v1.toString());

    // A still runs its write loop on v2: the reset is refused.
    String value = "rollback-1";
    lab.controlPlane().kubectlOk("annotate", "aoebootslot", slotA, "-n", NS,
        SlotOrigins.RESET_ANNOTATION + "=" + value, "--overwrite");
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      assertThat(slot(slotA).getMetadata().getAnnotations()).containsEntry(SlotOrigins.RESET_REFUSED_ANNOTATION, value);
      assertThat(events(slotA, "ResetRefused")).anySatisfy(m -> assertThat(m).contains(value).containsIgnoringCase("writ"));
    });
    assertThat(slot(slotA).getSpec().getImage()).as("refused: not moved").isEqualTo(v2.toString());

    // Power A off, then force the refused value (a client that is off cannot be hurt; without the force
    // the refused value stays refused).
    running.remove(MAC_A).close();
    long forced = System.nanoTime();
    lab.controlPlane().kubectlOk("annotate", "aoebootslot", slotA, "-n", NS,
        SlotOrigins.RESET_FORCE_ANNOTATION + "=" + value, "--overwrite");
    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      AoeBootSlot s = slot(slotA);
      assertThat(s.getSpec().getImage()).isEqualTo(v1.toString());
      assertThat(s.getSpec().getRebuild()).isEqualTo(SlotOrigins.RESET_PREFIX + value);
      assertThat(s.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
      assertThat(s.getStatus().getOrigin().getRebuild()).isEqualTo(SlotOrigins.RESET_PREFIX + value);
      assertThat(s.getStatus().getOrigin().getPath()).isEqualTo(v1.toString());
      assertThat(pool().getStatus().getUpdatedReplicas()).isEqualTo(2);
      assertThat(pool().getStatus().getStaleReplicas()).isZero();
    });
    record(String.format(Locale.ROOT, "[measure] forced reset back to v1 (reflink, %d MiB): annotate -> slot Serving"
        + " rebuilt on v1 %.1f s", IMAGE_MIB, (System.nanoTime() - forced) / 1e9));
    assertThat(rebuiltEvents(slotA)).anySatisfy(m -> assertThat(m).contains(value).contains(v2.toString())
        .contains("new store from " + v1));

    QemuClient a = power(MAC_A);
    awaitWriting(a, 3);
    String target = bootedTarget(a);
    assertThat(target).isEqualTo(targetOf.get(MAC_A));
    assertThat(a.line("moves to the new pool image")).as("not held: the reset moved it").isEmpty();
    assertThat(origin(a)).as(a.tail(30)).isEqualTo("v1");
    assertThat(a.line(QemuClient.MARKER_NONE + target)).as("a fresh disk again; " + a.tail(30)).isPresent();
    measure(a, "after rollback + reset");

    QemuClient b = running.get(MAC_B);
    awaitWriting(b, lastIo(b) + 5);
    assertThat(storeMarker(MAC_B)).contains(BootImage.expectedMarker(targetOf.get(MAC_B), MAC_B, 1));
    System.out.println(lab.controlPlane().kubectlOk("get", "aoebootpools,aoebootslots", "-n", NS, "-o", "wide"));
  }

  private QemuClient power(String mac) {
    int boot = bootsOf.merge(mac, 1, Integer::sum);
    QemuClient c = QemuClient.powerOnFromNic(lab.network(), LOG_DIR, "rollout-" + mac.replace(":", "") + "-boot-" + boot,
        mac, null);
    running.put(mac, c);
    return c;
  }

  /** Waits until {@code c} has verified write-loop block {@code n}; fails on any I/O error or boot failure. */
  private static void awaitWriting(QemuClient c, int n) {
    await().atMost(BOOT_LIMIT).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      assertThat(c.line(QemuClient.BOOT_FAILED)).as(c.tail(20)).isEmpty();
      assertThat(c.line("COWHERD-IO-ERROR")).as(c.tail(20)).isEmpty();
      assertThat(c.poweredOff()).as("%s stopped; %s", c, c.tail(20)).isFalse();
      assertThat(lastIo(c)).as(c.tail(5)).isGreaterThanOrEqualTo(n);
    });
  }

  /** The number of the last block the client's write loop verified, 0 before the first. */
  private static int lastIo(QemuClient c) {
    List<QemuClient.ConsoleLine> lines = c.console();
    for (int i = lines.size() - 1; i >= 0; i--) {
      Matcher m = IO_OK.matcher(lines.get(i).text());
      if (m.find()) {
        return Integer.parseInt(m.group(1));
      }
    }
    return 0;
  }

  /** The origin label on the kernel command line the client booted with. */
  private static String origin(QemuClient c) {
    String line = c.line("Kernel command line:").orElseThrow(() -> new AssertionError("no kernel command line; "
        + c.tail(30))).text();
    Matcher m = Pattern.compile(Pattern.quote(BootImage.ORIGIN_LABEL_PARAM) + "(\\S+)").matcher(line);
    return m.find() ? m.group(1) : "none";
  }

  private static String bootedTarget(QemuClient c) {
    for (QemuClient.ConsoleLine l : c.console()) {
      Matcher m = BOOT_OK.matcher(l.text());
      if (m.find()) {
        return m.group(1);
      }
    }
    throw new AssertionError("no " + QemuClient.BOOT_OK + "line; " + c.tail(30));
  }

  private void measure(QemuClient c, String what) {
    c.timeTo(QemuClient.MARKER_WRITTEN).ifPresent(d -> record(String.format(Locale.ROOT,
        "[measure] %-24s %-36s power-on -> marker written %.1f s", what, c.name(), d.toMillis() / 1000.0)));
  }

  private void record(String line) {
    System.out.println(line);
    measurements.add(line);
  }

  private String slotName(String mac) {
    return POOL + "-" + targetOf.get(mac).substring(targetOf.get(mac).indexOf('.') + 1);
  }

  /** The client marker in the COW store of the slot {@code mac} booted from. */
  private java.util.Optional<String> storeMarker(String mac) {
    return BootImage.readMarker(Path.of(slot(slotName(mac)).getStatus().getCowStorePath()));
  }

  /** {@code kubectl get aoebootpools}: the pool's row by column header. */
  private Map<String, String> kubectlGetPool() {
    String[] lines = lab.controlPlane().kubectlOk("get", "aoebootpools", "-n", NS).strip().split("\n");
    String[] header = lines[0].trim().split("\\s+");
    Map<String, String> row = new TreeMap<>();
    for (int i = 1; i < lines.length; i++) {
      String[] cells = lines[i].trim().split("\\s+");
      if (cells[0].equals(POOL)) {
        for (int j = 0; j < Math.min(header.length, cells.length); j++) {
          row.put(header[j], cells[j]);
        }
      }
    }
    return row;
  }

  private List<String> rebuiltEvents(String slot) {
    return events(slot, "Rebuilt");
  }

  private List<String> events(String involved, String reason) {
    return lab.controlPlane().client().v1().events().inNamespace(NS).list().getItems().stream()
        .filter(e -> involved.equals(e.getInvolvedObject().getName()) && reason.equals(e.getReason()))
        .map(Event::getMessage).toList();
  }

  private AoeBootPool pool() {
    return lab.controlPlane().client().resources(AoeBootPool.class).inNamespace(NS).withName(POOL).get();
  }

  private AoeBootSlot slot(String name) {
    return lab.controlPlane().client().resources(AoeBootSlot.class).inNamespace(NS).withName(name).get();
  }

  private List<AoeBootSlot> slots() {
    return lab.controlPlane().client().resources(AoeBootSlot.class).inNamespace(NS).list().getItems();
  }

  private static byte[] readAll(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path writeYaml(String name, String yaml) {
    try {
      return Files.writeString(WORK_DIR.resolve(name), yaml);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
