package io.cowherd.agent.slot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.export.AoeSegmentProbe;
import io.cowherd.agent.export.LinkWatcher;
import io.cowherd.agent.export.SegmentScan;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.support.Exporters;
import io.cowherd.agent.support.HostTools;
import io.cowherd.agent.support.LoopMountedFs;
import io.cowherd.agent.support.TestAgent;
import io.cowherd.agent.support.TestSegment;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interfaces that come and go, on veths and a bridge this test creates ({@link TestSegment},
 * {@code cwt<hex>}); reflink slots on a loop-mounted XFS. Reconciles are driven as the agent's
 * event source drives them: by the {@link LinkWatcher} ({@code ip -o monitor link}) and by the
 * supervisor's exporter events, one at a time on one thread. Prints the measured outages.
 */
@Tag("host")
class InterfaceHostTest {
  @TempDir Path tmp;
  private LoopMountedFs fs;
  private TestSegment segment;
  private KubernetesClient client;
  private TestAgent agent;
  private LinkWatcher watcher;
  private Path images;
  private Path stateDir;
  private Path origin;
  private final ExecutorService reconciles = Executors.newSingleThreadExecutor();
  private final List<String> events = new CopyOnWriteArrayList<>();
  private final List<String> linkEvents = new CopyOnWriteArrayList<>();
  private final AtomicReference<AoeBootSlot> slot = new AtomicReference<>();
  private final AtomicReference<AoeBootSlotStatus> status = new AtomicReference<>();

  @BeforeEach
  void setUp() throws IOException {
    HostTools.requireRoot();
    HostTools.requireProgram("setpriv", "util-linux");
    Vblade vblade = HostTools.requireVblade();
    fs = LoopMountedFs.xfs(tmp, 1);
    images = Files.createDirectories(fs.mountPoint().resolve("images"));
    origin = images.resolve("debian.img");
    try (RandomAccessFile f = new RandomAccessFile(origin.toFile(), "rw")) {
      f.setLength(16 << 20);
    }
    stateDir = Files.createDirectories(fs.mountPoint().resolve("state"));
    segment = TestSegment.create();
    client = new KubernetesClientBuilder().withConfig(new ConfigBuilder(Config.empty())
        .withMasterUrl("https://127.0.0.1:1").withRequestRetryBackoffLimit(0).withConnectionTimeout(500).build()).build();
    agent = new TestAgent("node-a", stateDir, List.of(images), vblade, client,
        (s, type, reason, message) -> events.add(type + " " + reason));
    watcher = new LinkWatcher(HostTools.requireProgram("ip", "iproute2").toString(), agent.scheduler,
        new LinkWatcher.Listener() {
          @Override
          public void linkChanged(String iface) {
            linkEvents.add(iface);
            AoeBootSlot s = slot.get();
            if (s != null && iface.equals(s.getSpec().getInterface())) {
              reconciles.submit(InterfaceHostTest.this::reconcile);
            }
          }

          @Override
          public void resync() {
            reconciles.submit(InterfaceHostTest.this::reconcile);
          }
        });
  }

  @AfterEach
  void cleanUp() throws IOException, InterruptedException {
    if (watcher != null) {
      watcher.close();
    }
    reconciles.shutdownNow();
    reconciles.awaitTermination(10, TimeUnit.SECONDS);
    if (agent != null) {
      agent.close();
    }
    HostTools.killVbladesMentioning(tmp.toString());
    if (segment != null) {
      segment.close();
    }
    if (client != null) {
      client.close();
    }
    if (fs != null) {
      fs.close();
    }
  }

  /** One reconcile of the current slot object, as JOSDK runs it; status kept as the API server would. */
  private void reconcile() {
    AoeBootSlot s = slot.get();
    if (s == null) {
      return;
    }
    try {
      UpdateControl<AoeBootSlot> control = agent.reconciler.reconcile(s, null);
      if (control.isPatchStatus()) {
        s.setStatus(control.getResource().orElseThrow().getStatus());
      }
    } catch (RuntimeException e) {
      s.setStatus(agent.reconciler.updateErrorStatus(s, null, e).getResource().map(AoeBootSlot::getStatus)
          .orElse(s.getStatus()));
    }
    status.set(s.getStatus());
  }

  /** Starts the watcher and waits until it sees link events (its netlink subscription is up). */
  private void startWatching() {
    watcher.start();
    String probe = HostTools.createVethPair();
    try {
      await().atMost(Duration.ofSeconds(10)).until(() -> linkEvents.contains(probe));
    } finally {
      HostTools.deleteVethPair(probe);
    }
  }

  private AoeBootSlotStatus reconcileNow() throws Exception {
    reconciles.submit(this::reconcile).get(30, TimeUnit.SECONDS);
    return status.get();
  }

  private static MacAddress macOf(String iface) throws IOException {
    return MacAddress.parse(Files.readString(Path.of("/sys/class/net", iface, "address")).strip());
  }

  /** Whether a broadcast Query Config on {@code iface} gets an answer for e9.3 from {@code mac}. */
  private static boolean answers(String iface, MacAddress mac) throws IOException {
    SegmentScan scan = new AoeSegmentProbe(Clock.systemUTC()).probe(iface, Duration.ofMillis(200));
    return scan.answers().stream().anyMatch(a -> a.target().equals(new AoeTarget(9, 3)) && a.mac().equals(mac));
  }

  @Test
  void aLiveInterfaceChangeMovesTheExporterWithinSecondsWithoutADuplicateAlarm() throws Exception {
    String first = segment.agentIface();
    String second = segment.addAgentIface();
    slot.set(aSlot().shelf(9).slot(3).iface(first).image(origin.toString()).backend(CowBackend.REFLINK).build());
    AoeBootSlotStatus serving = reconcileNow();
    assertThat(serving.getPhase()).as(serving.getMessage()).isEqualTo(SlotPhase.Serving);
    long oldPid = serving.getExporterPid();
    MacAddress firstMac = macOf(first);
    MacAddress secondMac = macOf(second);
    // Both NICs are on one segment: the second sees the exporter on the first.
    await().atMost(Duration.ofSeconds(15)).until(() -> answers(second, firstMac));
    startWatching();

    long changed = System.nanoTime();
    slot.get().getSpec().setInterface(second);
    slot.get().getMetadata().setGeneration(2L);
    AoeBootSlotStatus moved = reconcileNow();
    double reconcileSeconds = (System.nanoTime() - changed) / 1e9;
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> answers(first, secondMac));
    double outageSeconds = (System.nanoTime() - changed) / 1e9;
    System.out.printf("[measure] live interface change %s -> %s: reconcile %.2f s, target answering on the new NIC"
        + " after %.2f s (upper bound of the outage)%n", first, second, reconcileSeconds, outageSeconds);

    assertThat(moved.getPhase()).as(moved.getMessage()).isEqualTo(SlotPhase.Serving);
    assertThat(moved.getMessage()).contains("on " + second);
    assertThat(moved.getExporterPid()).isNotEqualTo(oldPid);
    assertThat(Exporters.ended(oldPid)).isTrue();
    assertThat(events).noneMatch(e -> e.contains("DuplicateExporter"));
    assertThat(answers(second, firstMac)).as("nothing answers on the former NIC any more").isFalse();
    assertThat(outageSeconds).as("outage of a live interface change").isLessThan(5);
  }

  @Test
  void aVanishedNicIsAHostFaultWithATruthfulStatusAndServesAgainWithinSecondsOfItsReturn() throws Exception {
    String iface = HostTools.createVethPair();
    try {
      slot.set(aSlot().shelf(9).slot(3).iface(iface).image(origin.toString()).backend(CowBackend.REFLINK).build());
      AoeBootSlotStatus serving = reconcileNow();
      assertThat(serving.getPhase()).as(serving.getMessage()).isEqualTo(SlotPhase.Serving);
      long pid = serving.getExporterPid();
      startWatching();

      long gone = System.nanoTime();
      HostTools.run("ip", "link", "del", iface);
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
        AoeBootSlotStatus now = status.get();
        assertThat(now.getPhase()).isEqualTo(SlotPhase.Failed);
        assertThat(now.getMessage()).startsWith("interface " + iface + " does not exist on this node (host fault");
        assertThat(now.getExporterPid()).as("no dead pid in status").isNull();
      });
      double reportedSeconds = (System.nanoTime() - gone) / 1e9;
      assertThat(Exporters.ended(pid)).isTrue();
      assertThat(events).contains("Warning InterfaceMissing").noneMatch(e -> e.contains("InvalidSpec"));
      int restartsWhileGone = status.get().getRestarts() == null ? 0 : status.get().getRestarts();

      long back = System.nanoTime();
      HostTools.run("ip", "link", "add", iface, "type", "veth", "peer", "name", iface + "p");
      HostTools.run("ip", "link", "set", iface + "p", "up");
      HostTools.run("ip", "link", "set", iface, "up");
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
        AoeBootSlotStatus now = status.get();
        assertThat(now.getPhase()).as(now.getMessage()).isEqualTo(SlotPhase.Serving);
        assertThat(now.getExporterPid()).isNotNull();
        assertThat(ProcessHandle.of(now.getExporterPid()).map(ProcessHandle::isAlive)).contains(true);
      });
      double servingSeconds = (System.nanoTime() - back) / 1e9;
      System.out.printf("[measure] NIC %s deleted: reported InterfaceMissing after %.2f s (restarts shown %d);"
          + " link re-created and up: Serving again after %.2f s%n", iface, reportedSeconds, restartsWhileGone,
          servingSeconds);
      assertThat(servingSeconds).as("serving again after the link returned").isLessThan(5);
    } finally {
      HostTools.deleteVethPair(iface);
    }
  }

  @Test
  void aNicSetDownIsAHostFaultAndServesAgainWhenItIsUp() throws Exception {
    String iface = HostTools.createVethPair();
    try {
      slot.set(aSlot().shelf(9).slot(3).iface(iface).image(origin.toString()).backend(CowBackend.REFLINK).build());
      assertThat(reconcileNow().getPhase()).isEqualTo(SlotPhase.Serving);
      startWatching();

      HostTools.run("ip", "link", "set", iface, "down");
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
        AoeBootSlotStatus now = status.get();
        assertThat(now.getPhase()).isEqualTo(SlotPhase.Failed);
        assertThat(now.getMessage()).startsWith("interface " + iface + " is down (host fault)");
        assertThat(now.getExporterPid()).isNull();
      });
      assertThat(events).contains("Warning InterfaceDown");

      long up = System.nanoTime();
      HostTools.run("ip", "link", "set", iface, "up");
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).untilAsserted(() ->
          assertThat(status.get().getPhase()).isEqualTo(SlotPhase.Serving));
      System.out.printf("[measure] NIC %s set up again: Serving after %.2f s%n", iface, (System.nanoTime() - up) / 1e9);
    } finally {
      HostTools.deleteVethPair(iface);
    }
  }
}
