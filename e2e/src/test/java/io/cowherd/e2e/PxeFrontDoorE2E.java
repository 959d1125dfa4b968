package io.cowherd.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.e2e.support.BootImage;
import io.cowherd.e2e.support.BootNetwork;
import io.cowherd.e2e.support.Digests;
import io.cowherd.e2e.support.Lab;
import io.cowherd.e2e.support.QemuClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
 * The front door with real firmware (issue 12): QEMU clients with fixed MACs and no per-client
 * configuration boot from their NIC's option ROM ({@code -boot n}; QEMU's virtio-net ROM is an iPXE
 * build of Debian's {@code ipxe-qemu} whose banner lists AoE), ask DHCP what to boot, fetch the node
 * agent's {@code boot.ipxe}, are enrolled into a pool with automatic enrollment, and SAN-boot their
 * own slot of the bootable image. One lab for every step (the real API server, operator and agent;
 * the agent's interface on the boot segment has an address of 198.18.0.0/15, the test range of RFC
 * 2544, on a veth the lab made; the DHCP servers run in the lab's bridge namespace).
 *
 * <ol>
 *   <li>cowherd's proxy DHCP (agent {@code --dhcp-mode proxy}, dnsmasq) beside a plain DHCP server
 *       that hands out addresses only: two clients boot together, get distinct slots, write their own
 *       markers; rebooted in the other order they get the same slots and see their own markers; a
 *       third MAC, the pool being full, sees cowherd's message on its console and an Event names it.
 *   <li>the user's own DHCP server with the dnsmasq snippet of docs/booting-clients.md (agent without
 *       proxy): a client boots into its slot again; after scale-up, a client pinned to slot 2
 *       ({@code AoeBootClient} with {@code slot}) boots into slot 2.
 *   <li>a UEFI client (OVMF, native UEFI PXE, no NIC option ROM) loads Debian's {@code ipxe.efi} over
 *       TFTP, is enrolled into a new slot after scale-up, SAN-boots it through the image's EFI loader
 *       and its initramfs finds the target in the aBFT iPXE installed as an ACPI table.
 * </ol>
 *
 * <p>{@code [measure]} lines compare power-on → {@code COWHERD-BOOT-OK} through PXE ROM + DHCP +
 * HTTP with the {@code -kernel ipxe.lkrn} path (a script naming the target, no DHCP) in the same run.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PxeFrontDoorE2E {
  private static final String NS = "pxe-front-door";
  private static final String POOL = "lab";
  private static final int SHELF = 7;
  private static final int IMAGE_MIB = 64;
  private static final Duration BOOT_LIMIT = Duration.ofSeconds(300);
  private static final Path WORK_DIR = Path.of("target", "e2e-pxe-front-door").toAbsolutePath();
  private static final Path LOG_DIR = WORK_DIR.resolve("logs");
  private static final String MAC_A = "52:54:00:fd:00:0a";
  private static final String MAC_B = "52:54:00:fd:00:0b";
  private static final String MAC_FULL = "52:54:00:fd:00:0f";
  private static final String MAC_PINNED = "52:54:00:fd:00:0c";
  private static final String MAC_UEFI = "52:54:00:fd:00:0e";
  private static final Pattern BOOT_OK = Pattern.compile(Pattern.quote(QemuClient.BOOT_OK) + "(e[0-9]+\\.[0-9]+) mac=(\\S+) via=aBFT");

  private Lab lab;
  private BootNetwork net;
  private String originSha256;
  private final Map<String, String> targetOf = new TreeMap<>();
  private final Map<String, Integer> bootsOf = new TreeMap<>();
  private final List<String> measurements = new ArrayList<>();
  private final Map<String, List<Double>> bootSeconds = new LinkedHashMap<>();

  @BeforeAll
  void startLab() {
    Path image = BootImage.cached(Lab.findRepo(), IMAGE_MIB);
    lab = Lab.startWithOrigin(WORK_DIR, image);
    originSha256 = Digests.sha256(lab.originImage());
    net = BootNetwork.withProxyDhcp(lab, LOG_DIR);
    lab.controlPlane().kubectlOk("create", "namespace", NS);
    lab.controlPlane().kubectlOk("apply", "-f", writePool(2).toString());
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      AoeBootPool pool = lab.controlPlane().client().resources(AoeBootPool.class).inNamespace(NS).withName(POOL).get();
      assertThat(pool.getStatus()).isNotNull();
      assertThat(pool.getStatus().getReadyReplicas()).isEqualTo(2);
    });
  }

  @AfterAll
  void stopLab() {
    System.out.println("[measure] summary (TCG, two shared cores):");
    measurements.forEach(System.out::println);
    bootSeconds.forEach((path, s) -> System.out.printf(Locale.ROOT,
        "[measure] %-34s mean power-on -> COWHERD-BOOT-OK %.1f s over %d boots (min %.1f, max %.1f)%n", path,
        s.stream().mapToDouble(Double::doubleValue).average().orElse(0), s.size(),
        s.stream().mapToDouble(Double::doubleValue).min().orElse(0),
        s.stream().mapToDouble(Double::doubleValue).max().orElse(0)));
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  @Order(1)
  void withCowherdsProxyDhcpTwoClientsBootFromTheirNicsIntoDistinctSlotsAndWriteTheirOwnMarkers() {
    List<QemuClient> booted = bootFromNic("proxy DHCP + PXE ROM + HTTP", MAC_A, MAC_B);
    for (QemuClient c : booted) {
      String target = bootedTarget(c);
      targetOf.put(c.mac(), target);
      assertThat(c.line(QemuClient.MARKER_NONE + target)).as(c.tail(15)).isPresent();
      assertThat(c.after(QemuClient.MARKER_WRITTEN)).as(c.tail(15))
          .hasValueSatisfying(m -> assertThat(m).startsWith(BootImage.expectedMarker(target, c.mac(), 1) + " "));
    }
    assertThat(targetOf.values()).as("one slot per MAC").doesNotHaveDuplicates().hasSize(2);
    assertThat(markersByTarget()).isEqualTo(expectedMarkers());
    assertThat(clients()).extracting(c -> c.getSpec().getMac() + " " + c.getStatus().getTarget())
        .containsExactlyInAnyOrder(MAC_A + " " + targetOf.get(MAC_A), MAC_B + " " + targetOf.get(MAC_B));
    assertThat(Digests.sha256(lab.originImage())).as("origin unchanged").isEqualTo(originSha256);
  }

  @Test
  @Order(2)
  void rebootedInTheOtherOrderEachGetsItsOwnSlotBackAndSeesItsOwnMarker() {
    List<QemuClient> booted = new ArrayList<>();
    try {
      QemuClient b = power(MAC_B);
      booted.add(b);
      await().atMost(BOOT_LIMIT).until(() -> b.line("Filename: http://").isPresent() || b.poweredOff());
      QemuClient a = power(MAC_A);
      booted.add(a);
      awaitPoweredOff(booted);
    } finally {
      booted.forEach(QemuClient::close);
    }
    booted.forEach(c -> measure(c, "proxy DHCP + PXE ROM + HTTP", booted.size()));
    for (QemuClient c : booted) {
      String target = bootedTarget(c);
      assertThat(target).as("%s keeps its slot", c.mac()).isEqualTo(targetOf.get(c.mac()));
      assertThat(c.after(QemuClient.MARKER_FOUND)).as(c.tail(15))
          .contains(BootImage.expectedMarker(target, c.mac(), bootsOf.get(c.mac()) - 1));
    }
    assertThat(markersByTarget()).isEqualTo(expectedMarkers());
  }

  @Test
  @Order(3)
  void aThirdMacFindsThePoolFullSeesCowherdsMessageAndAnEventNamesIt() {
    Map<String, String> before = markersByTarget();
    try (QemuClient c = QemuClient.powerOnFromNic(lab.network(), LOG_DIR, "full-" + MAC_FULL.replace(":", ""),
        MAC_FULL, null)) {
      await().atMost(BOOT_LIMIT).pollInterval(Duration.ofMillis(250)).untilAsserted(() ->
          assertThat(c.line("is full")).as(c.tail(12)).isPresent());
      assertThat(c.line("cowherd: " + MAC_FULL)).as(c.tail(12)).isPresent();
      assertThat(c.line("sanboot aoe:")).isEmpty();
    }
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(
        lab.controlPlane().client().v1().events().inNamespace(NS).list().getItems())
        .anySatisfy(e -> {
          assertThat(e.getReason()).isEqualTo("PoolFull");
          assertThat(e.getMessage()).contains(MAC_FULL);
        }));
    assertThat(markersByTarget()).as("no slot changed hands").isEqualTo(before);
    assertThat(clients()).filteredOn(c -> c.getSpec().getMac().equals(MAC_FULL))
        .allSatisfy(c -> assertThat(c.getStatus() == null ? null : c.getStatus().getTarget()).isNull());
  }

  @Test
  @Order(4)
  void theSameClientThroughAScriptOnTheKernelLineForComparison() {
    String target = targetOf.get(MAC_A);
    String[] parts = target.substring(1).split("\\.");
    int boot = bootsOf.merge(MAC_A, 1, Integer::sum);
    QemuClient c = QemuClient.powerOn(lab.network(), LOG_DIR, "lkrn-" + MAC_A.replace(":", "") + "-boot-" + boot,
        new AoeTarget(Integer.parseInt(parts[0]), Integer.parseInt(parts[1])), MAC_A, null);
    try {
      awaitPoweredOff(List.of(c));
    } finally {
      c.close();
    }
    measure(c, "-kernel ipxe.lkrn + script", 1);
    assertThat(bootedTarget(c)).isEqualTo(target);
    assertThat(c.after(QemuClient.MARKER_FOUND)).as(c.tail(15))
        .contains(BootImage.expectedMarker(target, MAC_A, boot - 1));
  }

  @Test
  @Order(5)
  void withTheUsersOwnDnsmasqAndTheSnippetOfTheDocsAClientBootsIntoItsSlot() {
    net.useOwnDhcpServer(docsDnsmasqSnippet()); // agent without proxy: the user's DHCP server answers PXE itself
    List<QemuClient> booted = bootFromNic("own dnsmasq + PXE ROM + HTTP", MAC_B);
    QemuClient c = booted.getFirst();
    assertThat(bootedTarget(c)).isEqualTo(targetOf.get(MAC_B));
    assertThat(c.after(QemuClient.MARKER_FOUND)).as(c.tail(15))
        .contains(BootImage.expectedMarker(targetOf.get(MAC_B), MAC_B, bootsOf.get(MAC_B) - 1));
    assertThat(markersByTarget()).isEqualTo(expectedMarkers());
    assertThat(Digests.sha256(lab.originImage())).as("origin unchanged").isEqualTo(originSha256);
  }

  @Test
  @Order(6)
  void aPinnedClientBootsFromItsNicIntoItsSlot() {
    // Un-enrol the MAC of the full-pool step first (docs: kubectl delete abc), so the new slot is free for the pin.
    lab.controlPlane().kubectlOk("delete", "aoebootclient", "mac-" + MAC_FULL.replace(":", ""), "-n", NS);
    lab.controlPlane().kubectlOk("scale", "aoebootpool/" + POOL, "-n", NS, "--replicas=3");
    lab.controlPlane().kubectlOk("apply", "-f", writeYaml("pinned.yaml", "apiVersion: cowherd.io/v1alpha1\n"
        + "kind: AoeBootClient\nmetadata:\n  name: pinned\n  namespace: " + NS + "\nspec:\n  mac: " + MAC_PINNED
        + "\n  pool: " + POOL + "\n  slot: 2\n").toString());
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      AoeBootPool pool = lab.controlPlane().client().resources(AoeBootPool.class).inNamespace(NS).withName(POOL).get();
      assertThat(pool.getStatus().getReadyReplicas()).isEqualTo(3);
      AoeBootClient pinned = lab.controlPlane().client().resources(AoeBootClient.class).inNamespace(NS)
          .withName("pinned").get();
      assertThat(pinned.getStatus()).isNotNull();
      assertThat(pinned.getStatus().getTarget()).isEqualTo("e" + SHELF + ".2");
    });
    List<QemuClient> booted = bootFromNic("own dnsmasq + PXE ROM + HTTP", MAC_PINNED);
    QemuClient c = booted.getFirst();
    assertThat(bootedTarget(c)).isEqualTo("e" + SHELF + ".2");
    targetOf.put(MAC_PINNED, "e" + SHELF + ".2");
    assertThat(c.after(QemuClient.MARKER_WRITTEN)).as(c.tail(15))
        .hasValueSatisfying(m -> assertThat(m).startsWith(BootImage.expectedMarker("e" + SHELF + ".2", MAC_PINNED, 1) + " "));
    assertThat(markersByTarget()).isEqualTo(expectedMarkers());
  }

  @Test
  @Order(7)
  void aUefiClientBootsFromItsNicThroughIpxeEfiIntoANewSlotAndWritesItsMarker() {
    // One free slot for the new MAC (automatic enrollment); works after step 6 or on its own.
    int replicas = lab.controlPlane().client().resources(AoeBootPool.class).inNamespace(NS).withName(POOL).get()
        .getSpec().getReplicas() + 1;
    lab.controlPlane().kubectlOk("scale", "aoebootpool/" + POOL, "-n", NS, "--replicas=" + replicas);
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> assertThat(
        lab.controlPlane().client().resources(AoeBootPool.class).inNamespace(NS).withName(POOL).get()
            .getStatus().getReadyReplicas()).isEqualTo(replicas));
    int boot = bootsOf.merge(MAC_UEFI, 1, Integer::sum);
    QemuClient c = QemuClient.powerOnUefiFromNic(lab.network(), LOG_DIR,
        "uefi-" + MAC_UEFI.replace(":", "") + "-boot-" + boot, MAC_UEFI, null);
    try {
      awaitPoweredOff(List.of(c));
    } finally {
      c.close();
    }
    measure(c, "UEFI PXE + ipxe.efi + HTTP", 1);
    AoeBootClient enrolled = lab.controlPlane().client().resources(AoeBootClient.class).inNamespace(NS)
        .withName("mac-" + MAC_UEFI.replace(":", "")).get();
    assertThat(enrolled).as("the UEFI client was enrolled; %s", c.tail(30)).isNotNull();
    String target = enrolled.getStatus().getTarget();
    assertThat(c.line("Features:")).as("ipxe.efi's banner; %s", c.tail(30))
        .hasValueSatisfying(l -> assertThat(l.text()).contains("AoE", "EFI"));
    assertThat(bootedTarget(c)).isEqualTo(target);
    targetOf.put(MAC_UEFI, target);
    assertThat(c.after(QemuClient.MARKER_WRITTEN)).as(c.tail(15))
        .hasValueSatisfying(m -> assertThat(m).startsWith(BootImage.expectedMarker(target, MAC_UEFI, boot) + " "));
    assertThat(markersByTarget()).isEqualTo(expectedMarkers());
  }

  /**
   * The dnsmasq block of docs/booting-clients.md (the code block after "dnsmasq (tested:"), with its
   * example address and port replaced by this lab's.
   */
  private List<String> docsDnsmasqSnippet() {
    try {
      List<String> doc = Files.readAllLines(Lab.findRepo().resolve("docs/booting-clients.md"));
      int heading = 0;
      while (!doc.get(heading).startsWith("dnsmasq (tested: `PxeFrontDoorE2E`")) {
        heading++;
      }
      int open = heading;
      while (!doc.get(open).equals("```")) {
        open++;
      }
      List<String> block = new ArrayList<>();
      for (int i = open + 1; !doc.get(i).equals("```"); i++) {
        block.add(doc.get(i).replace("192.0.2.10:8067", net.agentAddress() + ":" + net.bootPort()));
      }
      assertThat(block).as("the docs' dnsmasq snippet").anyMatch(l -> l.contains(net.agentAddress() + ":" + net.bootPort()));
      return block;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private QemuClient power(String mac) {
    int boot = bootsOf.merge(mac, 1, Integer::sum);
    return QemuClient.powerOnFromNic(lab.network(), LOG_DIR, "pxe-" + mac.replace(":", "") + "-boot-" + boot, mac, null);
  }

  /** Powers the MACs on together (at most two), waits until each powered itself off, records times. */
  private List<QemuClient> bootFromNic(String path, String... macs) {
    List<QemuClient> started = new ArrayList<>();
    try {
      for (String mac : macs) {
        started.add(power(mac));
      }
      awaitPoweredOff(started);
    } finally {
      started.forEach(QemuClient::close);
    }
    started.forEach(c -> measure(c, path, started.size()));
    return started;
  }

  private static void awaitPoweredOff(List<QemuClient> clients) {
    await().atMost(BOOT_LIMIT).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      for (QemuClient c : clients) {
        assertThat(c.line("COWHERD-BOOT-FAILED")).as(c.tail(20)).isEmpty();
        assertThat(c.poweredOff()).as("%s powered off after its marker; %s", c, c.tail(20)).isTrue();
      }
    });
  }

  /** The target the client's initramfs found in the aBFT iPXE left. */
  private static String bootedTarget(QemuClient c) {
    for (QemuClient.ConsoleLine l : c.console()) {
      Matcher m = BOOT_OK.matcher(l.text());
      if (m.find()) {
        assertThat(m.group(2)).as("MAC in the aBFT").isEqualToIgnoringCase(c.mac());
        return m.group(1);
      }
    }
    throw new AssertionError("no " + QemuClient.BOOT_OK + "line; " + c.tail(30));
  }

  private void measure(QemuClient c, String path, int together) {
    Duration ok = c.timeTo(QemuClient.BOOT_OK).orElse(null);
    if (ok == null) {
      return;
    }
    Duration script = c.timeTo("cowherd: ").orElse(null);
    bootSeconds.computeIfAbsent(path, k -> new ArrayList<>()).add(ok.toMillis() / 1000.0);
    String line = String.format(Locale.ROOT, "[measure] %-34s %-28s power-on -> first cowherd script line %s, "
        + "-> COWHERD-BOOT-OK %.1f s (%d VM(s) running)", path, c.name(),
        script == null ? "-" : String.format(Locale.ROOT, "%.1f s", script.toMillis() / 1000.0),
        ok.toMillis() / 1000.0, together);
    System.out.println(line);
    measurements.add(line);
  }

  /** Each enrolled client's slot holds that client's latest marker. */
  private Map<String, String> expectedMarkers() {
    Map<String, String> expected = new TreeMap<>();
    targetOf.forEach((mac, target) -> expected.put(target, BootImage.expectedMarker(target, mac, bootsOf.get(mac))));
    return expected;
  }

  private Map<String, String> markersByTarget() {
    Map<String, String> markers = new TreeMap<>();
    for (AoeBootSlot s : lab.controlPlane().client().resources(AoeBootSlot.class).inNamespace(NS).list().getItems()) {
      if (s.getStatus() != null && s.getStatus().getCowStorePath() != null) {
        BootImage.readMarker(Path.of(s.getStatus().getCowStorePath()))
            .ifPresent(m -> markers.put("e" + SHELF + "." + s.getSpec().getSlot(), m));
      }
    }
    return markers;
  }

  private List<AoeBootClient> clients() {
    return lab.controlPlane().client().resources(AoeBootClient.class).inNamespace(NS).list().getItems();
  }

  private Path writePool(int replicas) {
    return writeYaml("pool-" + POOL + ".yaml", "apiVersion: cowherd.io/v1alpha1\nkind: AoeBootPool\nmetadata:\n  name: "
        + POOL + "\n  namespace: " + NS + "\nspec:\n  image: " + lab.originImage() + "\n  replicas: " + replicas
        + "\n  interface: " + lab.network().exporterInterface() + "\n  shelf: " + SHELF
        + "\n  cow:\n    backend: reflink\n  clients:\n    enrollment: Automatic\n");
  }

  private static Path writeYaml(String name, String yaml) {
    Path file = WORK_DIR.resolve(name);
    try {
      Files.writeString(file, yaml);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return file;
  }
}
