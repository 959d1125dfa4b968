package io.cowherd.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.cowherd.aoe.frame.AoeMessage;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.AtaCommand;
import io.cowherd.aoe.frame.AtaFlags;
import io.cowherd.aoe.frame.AtaMessage;
import io.cowherd.aoe.frame.EthernetHeader;
import io.cowherd.aoe.frame.FrameDecoder;
import io.cowherd.aoe.frame.FrameEncoder;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.aoe.frame.MalformedFrameException;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.DiscoveredTarget;
import io.cowherd.aoe.initiator.InitiatorOptions;
import io.cowherd.aoe.net.NetNs;
import io.cowherd.aoe.net.RawSocket;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.BootProgress;
import io.cowherd.e2e.support.BootImage;
import io.cowherd.e2e.support.BootNetwork;
import io.cowherd.e2e.support.Commands;
import io.cowherd.e2e.support.Digests;
import io.cowherd.e2e.support.Lab;
import io.cowherd.e2e.support.QemuClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
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
 *       Between the first boot and the reboot: {@code kubectl get aoebootclients} shows each client
 *       Silent after power-off, and the {@code status.boot} records a watch saw during its boot went
 *       ScriptServed → Queried → Reading → Writing → Silent with scriptServedAt ≤ queriedAt ≤
 *       readingAt ≤ writingAt ≤ Silent's stageSince (the agent runs with {@code
 *       --silent-after-seconds 5}), and the agent's /metrics counts read and write requests and bytes
 *       on each slot; a rogue initiator (cowherd's, another MAC) in a client namespace of the lab
 *       neither discovers nor reads nor writes either bound slot, not even with ATA requests sent
 *       straight to the exporter's MAC, while the bound MAC (MAC_A on a second namespace's NIC, its
 *       VM off) discovers and reads its slot; malformed MACs asked over the boot segment from the
 *       client namespace get 400 and an iPXE script saying so, and no client is written.
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
  /** The lab agent's {@code --silent-after-seconds}: short, so that Silent follows a power-off within seconds. */
  private static final Duration SILENT_AFTER = Duration.ofSeconds(5);
  private static final Pattern METRIC = Pattern.compile("^([a-z_]+)\\{([^}]*)\\} (\\S+)$");
  private static final Pattern LABEL = Pattern.compile("([a-z_]+)=\"([^\"]*)\"");

  /** One {@code status.boot} of a client as the test's watch saw it, and when. */
  private record BootSeen(String mac, BootProgress boot, Instant seen) {}

  private Lab lab;
  private BootNetwork net;
  private String originSha256;
  private final Map<String, String> targetOf = new TreeMap<>();
  private final Map<String, Integer> bootsOf = new TreeMap<>();
  private final List<String> measurements = new ArrayList<>();
  private final Map<String, List<Double>> bootSeconds = new LinkedHashMap<>();
  private final Map<String, Instant> poweredOnAt = new ConcurrentHashMap<>();
  private final List<BootSeen> bootHistory = new CopyOnWriteArrayList<>();
  private Watch stageWatch;
  private int metricsPort;
  private String clientNs;

  @BeforeAll
  void startLab() {
    Path image = BootImage.cached(Lab.findRepo(), IMAGE_MIB);
    lab = Lab.startWithOrigin(WORK_DIR, image);
    originSha256 = Digests.sha256(lab.originImage());
    metricsPort = freePort();
    net = BootNetwork.withProxyDhcp(lab, LOG_DIR, List.of("--silent-after-seconds",
        Long.toString(SILENT_AFTER.toSeconds()), "--http-port", Integer.toString(metricsPort)));
    lab.controlPlane().kubectlOk("create", "namespace", NS);
    // Every status.boot each client goes through (stage changes are seconds apart; a poll could miss one).
    stageWatch = lab.controlPlane().client().resources(AoeBootClient.class).inNamespace(NS).watch(new Watcher<>() {
      @Override
      public void eventReceived(Action action, AoeBootClient c) {
        if (c.getStatus() != null && c.getStatus().getBoot() != null) {
          bootHistory.add(new BootSeen(c.getSpec().getMac(), c.getStatus().getBoot(), Instant.now()));
        }
      }

      @Override
      public void onClose(WatcherException cause) {
        // the test's assertions say what was missed
      }
    });
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
    if (stageWatch != null) {
      stageWatch.close();
    }
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
  void kubectlShowsEachClientReadingThenWritingDuringItsBootAndSilentAfterPowerOffWithTheTimesInOrder() throws Exception {
    List<String> macs = List.of(MAC_A, MAC_B);
    // Both powered off in step 1: each goes Silent within SILENT_AFTER of its last request (plus a tick).
    await().atMost(SILENT_AFTER.plus(Duration.ofSeconds(60))).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      for (String mac : macs) {
        assertThat(history(mac)).as("status.boot of %s as watched", mac).isNotEmpty()
            .last().satisfies(b -> assertThat(b.boot().getStage()).isEqualTo("Silent"));
      }
    });
    String table = lab.controlPlane().kubectlOk("get", "aoebootclients", "-n", NS);
    System.out.println("[stages] kubectl get aoebootclients -n " + NS + ":\n" + table);
    for (String mac : macs) {
      assertThat(table.lines()).as(table).anySatisfy(l -> assertThat(l).contains(mac, targetOf.get(mac), "Silent"));
      List<BootSeen> seen = history(mac);
      assertThat(seen).extracting(b -> b.boot().getStage()).as("%s: stages as watched", mac)
          .containsSubsequence("ScriptServed", "Queried", "Reading", "Writing", "Silent");
      BootSeen queried = first(seen, "Queried", 0);
      BootSeen reading = first(seen, "Reading", seen.indexOf(queried));
      BootSeen writing = first(seen, "Writing", seen.indexOf(reading));
      BootSeen silent = seen.getLast();
      BootProgress end = silent.boot();
      Instant scriptServedAt = Instant.parse(end.getScriptServedAt());
      Instant queriedAt = Instant.parse(queried.boot().getQueriedAt());
      Instant readingAt = Instant.parse(reading.boot().getReadingAt());
      Instant writingAt = Instant.parse(writing.boot().getWritingAt());
      Instant silentSince = Instant.parse(end.getStageSince());
      String times = mac + " " + seen.stream().map(b -> b.boot().getStage() + "@" + b.boot().getStageSince()).toList();
      assertThat(scriptServedAt).as(times).isAfterOrEqualTo(poweredOnAt.get(mac).truncatedTo(ChronoUnit.SECONDS));
      assertThat(queriedAt).as(times).isAfterOrEqualTo(scriptServedAt);
      assertThat(readingAt).as(times).isAfterOrEqualTo(queriedAt);
      assertThat(writingAt).as(times).isAfterOrEqualTo(readingAt);
      assertThat(silentSince).as(times).isAfterOrEqualTo(writingAt);
      // Silent comes SILENT_AFTER after the last request (timestamps are whole seconds).
      Instant lastIo = Instant.parse(end.getReadingAt()).isAfter(Instant.parse(end.getWritingAt()))
          ? Instant.parse(end.getReadingAt()) : Instant.parse(end.getWritingAt());
      assertThat(silentSince).as(times).isAfterOrEqualTo(lastIo.plus(SILENT_AFTER).minusSeconds(1));
      assertThat(end.getNode()).isEqualTo(Lab.NODE);
      Instant on = poweredOnAt.get(mac);
      String line = String.format(Locale.ROOT, "[measure] stages of %s (%s, silent after %d s): power-on -> "
          + "Reading seen %.1f s, -> Writing seen %.1f s, -> Silent seen %.1f s; Silent %d s after the last request",
          mac, targetOf.get(mac), SILENT_AFTER.toSeconds(), secondsBetween(on, reading.seen()),
          secondsBetween(on, writing.seen()), secondsBetween(on, silent.seen()),
          Duration.between(lastIo, silentSince).toSeconds());
      System.out.println(line);
      measurements.add(line);
    }
    // The agent's /metrics: the I/O of each client's boot counted on its slot.
    HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(metrics.statusCode()).isEqualTo(200);
    for (String mac : macs) {
      String target = targetOf.get(mac);
      for (String op : List.of("read", "write")) {
        double bytes = slotMetric(metrics.body(), "cowherd_slot_io_bytes_total", target, op);
        double requests = slotMetric(metrics.body(), "cowherd_slot_io_requests_total", target, op);
        assertThat(bytes).as("%s %s bytes of %s", target, op, mac).isPositive();
        assertThat(requests).as("%s %s requests of %s", target, op, mac).isPositive();
        String line = String.format(Locale.ROOT, "[measure] /metrics %s (%s) %s: %.0f requests, %.1f KiB", target, mac,
            op, requests, bytes / 1024);
        System.out.println(line);
        measurements.add(line);
      }
    }
  }

  @Test
  @Order(3)
  void aRogueInitiatorInTheClientNamespaceCanNeitherDiscoverNorReadNorWriteABoundSlotWhileTheBoundMacCan()
      throws Exception {
    // Binding is on: each enrolled slot's exporter admits its client's MAC (and the agent's own) only.
    for (String mac : List.of(MAC_A, MAC_B)) {
      assertThat(slotOf(targetOf.get(mac)).getSpec().getAllowedMacs()).as("allowedMacs of %s", targetOf.get(mac))
          .anySatisfy(m -> assertThat(m).isEqualToIgnoringCase(mac));
    }
    AoeTarget a = AoeTarget.parse(targetOf.get(MAC_A));
    AoeTarget b = AoeTarget.parse(targetOf.get(MAC_B));
    // The bound client, QEMU being off: its MAC on a second client namespace's NIC, down again afterwards
    // (so that no second holder of the MAC is left on the segment for its next boot).
    String boundNs = lab.network().addClientNamespace();
    Commands.run("ip", "-n", boundNs, "link", "set", "dev", "eth0", "address", MAC_A);
    InitiatorOptions quick = InitiatorOptions.defaults().withFrameTimeout(Duration.ofMillis(200)).withMaxRetries(2);
    try (AoeInitiator bound = AoeInitiator.openInNamespace(boundNs, "eth0", quick);
        AoeInitiator rogue = AoeInitiator.openInNamespace(clientNamespace(), "eth0", quick)) {
      assertThat(rogue.localAddress().toString()).isNotEqualToIgnoringCase(MAC_A).isNotEqualToIgnoringCase(MAC_B);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(bound.discover(Duration.ofMillis(500))).extracting(DiscoveredTarget::target).contains(a));
      byte[] sector = bound.read(a, 0, 1);

      assertThat(rogue.discover(Duration.ofSeconds(2))).extracting(DiscoveredTarget::target).doesNotContain(a, b);
      assertThatThrownBy(() -> rogue.read(a, 0, 1)).isInstanceOf(IOException.class);
      assertThatThrownBy(() -> rogue.read(b, 0, 1)).isInstanceOf(IOException.class);
      assertThatThrownBy(() -> rogue.write(a, 0, sector)).isInstanceOf(IOException.class);
      // Not only undiscoverable: ATA requests sent straight to the exporter's MAC get no answer either
      // (the write carries the sector the bound client just read, so even a wrong answer changes nothing).
      MacAddress exporter = MacAddress.parse(lab.exporterMac());
      try (RawSocket raw = NetNs.openRawSocket(clientNamespace(), "eth0")) {
        EthernetHeader toExporter = new EthernetHeader(exporter, raw.localAddress());
        assertThat(answered(raw, AtaMessage.request(toExporter, a, 0x0c0ffee1, AtaFlags.EXTENDED,
            AtaCommand.READ_SECTORS_EXT, 0, 1, null))).as("rogue read of %s answered", a).isFalse();
        assertThat(answered(raw, AtaMessage.request(toExporter, a, 0x0c0ffee2, AtaFlags.EXTENDED_WRITE,
            AtaCommand.WRITE_SECTORS_EXT, 0, 1, sector))).as("rogue write of %s answered", a).isFalse();
      }
      // The bound MAC still reads (and the sector is as it was).
      assertThat(bound.read(a, 0, 1)).isEqualTo(sector);
    } finally {
      Commands.run("ip", "-n", boundNs, "link", "set", "dev", "eth0", "down");
    }
    assertThat(markersByTarget()).isEqualTo(expectedMarkers());
  }

  @Test
  @Order(4)
  void aMalformedMacAskedFromTheClientNamespaceOverTheBootSegmentIsAnswered400AndWritesNothing() throws Exception {
    List<String> before = clients().stream().map(c -> c.getMetadata().getName()).sorted().toList();
    // Short, not hex, multicast (odd first octet), one pair too many. (52-54-00-… is iPXE's hexhyp form: valid.)
    for (String mac : List.of("52:54:00:fd:00", "52:54:00:fd:00:zz", "53:54:00:fd:00:0a", "52:54:00:fd:00:0a:0b")) {
      Map.Entry<Integer, String> r = NetNs.callIn(clientNamespace(), () -> httpGet("http://" + net.agentAddress() + ":"
          + net.bootPort() + "/boot/v1/ipxe?mac=" + mac));
      assertThat(r.getKey()).as("%s: %s", mac, r.getValue()).isEqualTo(400);
      assertThat(r.getValue()).as(mac).startsWith("#!ipxe\necho cowherd: malformed MAC");
    }
    assertThat(clients().stream().map(c -> c.getMetadata().getName()).sorted().toList()).as("no client written")
        .isEqualTo(before);
    assertThat(markersByTarget()).isEqualTo(expectedMarkers());
  }

  @Test
  @Order(5)
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
  @Order(6)
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
  @Order(7)
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
  @Order(8)
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
  @Order(9)
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
  @Order(10)
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
    poweredOnAt.put(mac, Instant.now());
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

  /** The lab's client namespace for rogue and HTTP requests (address .50 of the boot segment), made on first use. */
  private String clientNamespace() {
    if (clientNs == null) {
      clientNs = lab.network().addClientNamespace();
      Commands.run("ip", "-n", clientNs, "addr", "add", net.address(50) + "/24", "dev", "eth0");
    }
    return clientNs;
  }

  /** Sends {@code request} and says whether a reply with its tag came within two seconds. */
  private static boolean answered(RawSocket raw, AtaMessage request) throws IOException {
    raw.send(FrameEncoder.INSTANCE.encode(request));
    byte[] buffer = new byte[9000];
    long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    for (long left; (left = deadline - System.nanoTime()) > 0; ) {
      int n = raw.receive(buffer, 0, Duration.ofNanos(left));
      if (n <= 0) {
        continue;
      }
      try {
        AoeMessage m = FrameDecoder.INSTANCE.decode(Arrays.copyOf(buffer, n));
        if (m instanceof AtaMessage reply && reply.header().response() && reply.header().tag() == request.header().tag()) {
          return true;
        }
      } catch (MalformedFrameException e) {
        // another frame on the segment
      }
    }
    return false;
  }

  /** GET on the calling thread (so from its network namespace): status and body. */
  private static Map.Entry<Integer, String> httpGet(String url) throws IOException {
    HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection(Proxy.NO_PROXY);
    c.setRequestProperty("Connection", "close");
    c.setConnectTimeout(5000);
    c.setReadTimeout(5000);
    try {
      int status = c.getResponseCode();
      try (InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream()) {
        return Map.entry(status, in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
    } finally {
      c.disconnect();
    }
  }

  /** The value of {@code name}'s series of this test's slot {@code target} with label op={@code op}. */
  private static double slotMetric(String exposition, String name, String target, String op) {
    for (String line : exposition.lines().toList()) {
      Matcher m = METRIC.matcher(line);
      if (m.matches() && m.group(1).equals(name)) {
        Map<String, String> labels = new HashMap<>();
        Matcher l = LABEL.matcher(m.group(2));
        while (l.find()) {
          labels.put(l.group(1), l.group(2));
        }
        if (NS.equals(labels.get("namespace")) && target.equals(labels.get("target")) && op.equals(labels.get("op"))) {
          return Double.parseDouble(m.group(3));
        }
      }
    }
    throw new AssertionError("no " + name + "{namespace=" + NS + ",target=" + target + ",op=" + op + "} in /metrics");
  }

  /** The watched status.boot records of {@code mac}'s client, oldest first. */
  private List<BootSeen> history(String mac) {
    return bootHistory.stream().filter(b -> b.mac().equalsIgnoreCase(mac)).toList();
  }

  /** The first record at or after {@code from} in stage {@code stage}. */
  private static BootSeen first(List<BootSeen> seen, String stage, int from) {
    return seen.subList(from, seen.size()).stream().filter(b -> stage.equals(b.boot().getStage())).findFirst()
        .orElseThrow(() -> new AssertionError("no stage " + stage + " after record " + from + " in " + seen));
  }

  private static double secondsBetween(Instant from, Instant to) {
    return Duration.between(from, to).toMillis() / 1000.0;
  }

  private AoeBootSlot slotOf(String target) {
    return lab.controlPlane().client().resources(AoeBootSlot.class).inNamespace(NS).list().getItems().stream()
        .filter(s -> target.equals("e" + SHELF + "." + s.getSpec().getSlot())).findFirst()
        .orElseThrow(() -> new AssertionError("no slot serving " + target));
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
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
