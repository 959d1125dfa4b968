package io.cowherd.agent.slot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.export.AoeSegmentProbe;
import io.cowherd.agent.export.ExporterState;
import io.cowherd.agent.export.SegmentScan;
import io.cowherd.agent.export.SegmentScanner;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.agent.support.Exporters;
import io.cowherd.agent.support.HostTools;
import io.cowherd.agent.support.LoopMountedFs;
import io.cowherd.agent.support.TestAgent;
import io.cowherd.agent.support.TestSegment;
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
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * design.md's first invariant on a real segment: a bridge in a namespace this test makes, the
 * agent's veth on it, and "another host" (a namespace) running a real vblade. The agent's code
 * refuses to export a target another MAC answers for, stops its own exporter when one appears
 * (on the segment, or on the same interface of this host), and comes back when it is gone. Also
 * measures what the wire check adds to bringing up 32 slots.
 */
@Tag("host")
class DuplicateExporterHostTest {
  @TempDir Path tmp;
  private LoopMountedFs fs;
  private TestSegment segment;
  private KubernetesClient client;
  private final List<TestAgent> agents = new ArrayList<>();
  private final List<Process> manual = new ArrayList<>();
  private final List<String> events = new CopyOnWriteArrayList<>();
  private final ShiftedClock clock = new ShiftedClock();
  private Vblade vblade;
  private VbladeProcesses processes;
  private Path images;
  private Path stateDir;
  private Path origin;
  private Path rogueDisk;

  /** The system clock plus a shift the test sets: jumps past the 30 s re-check window. */
  private static final class ShiftedClock extends Clock {
    volatile Duration shift = Duration.ZERO;

    @Override
    public ZoneId getZone() {
      return ZoneId.of("UTC");
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.now().plus(shift);
    }

    void jumpPastRecheck() {
      shift = shift.plus(SegmentScanner.WHILE_RUNNING).plusSeconds(1);
    }
  }

  @BeforeEach
  void setUp() throws IOException {
    HostTools.requireRoot();
    vblade = HostTools.requireVblade();
    processes = new VbladeProcesses(Path.of("/proc"), vblade);
    fs = LoopMountedFs.xfs(tmp, 1);
    segment = TestSegment.create();
    segment.addHost();
    images = Files.createDirectories(fs.mountPoint().resolve("images"));
    // 4 MiB: every clone is promised room to rewrite it (reflink admission), and 32 clones must fit in 512 MiB.
    origin = sized(images.resolve("debian.img"), 4 << 20);
    rogueDisk = sized(tmp.resolve("rogue.img"), 1 << 20);
    stateDir = Files.createDirectories(fs.mountPoint().resolve("state"));
    client = new KubernetesClientBuilder().withConfig(new ConfigBuilder(Config.empty())
        .withMasterUrl("https://127.0.0.1:1").withRequestRetryBackoffLimit(0).withConnectionTimeout(500).build()).build();
  }

  @AfterEach
  void cleanUp() throws IOException {
    agents.forEach(TestAgent::close);
    manual.forEach(Process::destroyForcibly);
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

  private static Path sized(Path file, long bytes) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(bytes);
    }
    return file;
  }

  private TestAgent agent(SegmentScanner scanner) {
    TestAgent a = new TestAgent("node-a", stateDir, List.of(images), vblade, client,
        (slot, type, reason, message) -> events.add(type + " " + reason + ": " + message), scanner);
    agents.add(a);
    return a;
  }

  private TestAgent agent() {
    return agent(new SegmentScanner(new AoeSegmentProbe(clock), clock, SegmentScanner.ANSWER_WAIT));
  }

  private AoeBootSlot slot(int n) {
    return aSlot().shelf(9).slot(n).iface(segment.agentIface()).image(origin.toString()).backend(CowBackend.REFLINK)
        .build();
  }

  private static AoeBootSlotStatus reconcile(TestAgent agent, AoeBootSlot slot) {
    UpdateControl<AoeBootSlot> control = agent.reconciler.reconcile(slot, null);
    if (control.isPatchStatus()) {
      slot.setStatus(control.getResource().orElseThrow().getStatus());
    }
    return slot.getStatus();
  }

  private List<VbladeProcess> oursOnTheSegment() {
    return processes.scan().stream().filter(p -> p.target().iface().equals(segment.agentIface())).toList();
  }

  private String duplicateMessage() {
    MacAddress rogue = segment.hostMac(0);
    return "another exporter of e9.3 answers from MAC " + rogue + " on " + segment.agentIface()
        + "; refusing to export a duplicate";
  }

  private void awaitRogueAnswers(TestAgent agent) {
    await().atMost(Duration.ofSeconds(15)).until(() ->
        !agent.segment.scan(segment.agentIface(), Duration.ZERO).foreignExporters(9, 3).isEmpty());
  }

  @Test
  void refusesToExportATargetAnotherHostAlreadyExports() throws Exception {
    Process rogue = segment.startExporter(0, 9, 3, rogueDisk);
    TestAgent agent = agent();
    awaitRogueAnswers(agent);

    AoeBootSlotStatus s = reconcile(agent, slot(3));
    assertThat(s.getPhase()).isEqualTo(SlotPhase.Failed);
    assertThat(s.getMessage()).isEqualTo(duplicateMessage());
    assertThat(s.getExporterPid()).isNull();
    assertThat(events).contains("Warning DuplicateExporter: " + duplicateMessage());
    assertThat(oursOnTheSegment()).isEmpty();

    // The supervisor's own guard (used by restarts after an exit) refuses too.
    SlotId id = new SlotId("lab", "debian", 3);
    ExporterState refused = agent.supervisor.ensure(id,
        new VbladeTarget(9, 3, segment.agentIface(), stateDir.resolve("lab/debian/slot-3.img")), tmp.resolve("x.log"));
    assertThat(refused.running()).isFalse();
    assertThat(refused.duplicate().message()).isEqualTo(duplicateMessage());
    assertThat(oursOnTheSegment()).isEmpty();

    TestSegment.stop(rogue);
    AoeBootSlot slot = slot(3);
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      AoeBootSlotStatus now = reconcile(agent, slot);
      assertThat(now.getPhase()).as(now.getMessage()).isEqualTo(SlotPhase.Serving);
    });
    assertThat(oursOnTheSegment()).hasSize(1);
  }

  @Test
  void stopsItsExporterWhenAnotherHostStartsExportingTheTarget() throws Exception {
    TestAgent agent = agent();
    AoeBootSlot slot = slot(3);
    AoeBootSlotStatus serving = reconcile(agent, slot);
    assertThat(serving.getPhase()).isEqualTo(SlotPhase.Serving);
    long pid = serving.getExporterPid();

    Process rogue = segment.startExporter(0, 9, 3, rogueDisk);
    awaitRogueAnswers(agent);
    clock.jumpPastRecheck(); // the periodic reconcile's scan is due

    AoeBootSlotStatus s = reconcile(agent, slot);
    assertThat(s.getPhase()).isEqualTo(SlotPhase.Failed);
    assertThat(s.getMessage()).isEqualTo(duplicateMessage());
    assertThat(s.getExporterPid()).isNull();
    assertThat(Exporters.ended(pid)).as("our exporter stopped").isTrue();
    assertThat(oursOnTheSegment()).isEmpty();
    assertThat(events).contains("Warning DuplicateExporter: " + duplicateMessage());
    assertThat(rogue.isAlive()).isTrue();
    assertThat(stateDir.resolve("lab/debian/slot-3.img")).as("COW data kept").exists();

    TestSegment.stop(rogue);
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
        assertThat(reconcile(agent, slot).getPhase()).isEqualTo(SlotPhase.Serving));
  }

  @Test
  void stopsItsExporterWhenAForeignVbladeClaimsTheTargetOnTheSameInterface() throws Exception {
    TestAgent agent = agent();
    AoeBootSlot slot = slot(3);
    long pid = reconcile(agent, slot).getExporterPid();

    Process foreign = new ProcessBuilder(vblade.program(), "9", "3", segment.agentIface(), rogueDisk.toString())
        .redirectInput(Redirect.from(new File("/dev/null"))).redirectOutput(Redirect.DISCARD)
        .redirectError(Redirect.DISCARD).start();
    manual.add(foreign);
    await().atMost(Duration.ofSeconds(5)).until(() -> processes.scan().stream().anyMatch(p -> p.pid() == foreign.pid()));

    AoeBootSlotStatus s = reconcile(agent, slot);
    assertThat(s.getPhase()).isEqualTo(SlotPhase.Failed);
    assertThat(s.getMessage()).contains("e9.3", "pid " + foreign.pid(), rogueDisk.toString());
    assertThat(s.getExporterPid()).isNull();
    assertThat(Exporters.ended(pid)).as("our exporter stopped").isTrue();
    assertThat(oursOnTheSegment()).extracting(VbladeProcess::pid).containsExactly(foreign.pid());
  }

  /**
   * Benchmark: prints what the wire check adds to bringing up 32 slots one after another (the
   * slowest case: concurrent reconciles share a scan in flight). Rounds with and without the
   * check alternate; the minimum of each is compared (this machine's CPUs are shared).
   */
  @Test
  void bringingUp32SlotsSharesTheBroadcasts() {
    bringUp(agent(quiet()), 4); // warm-up: JIT, first clones
    List<Long> without = new ArrayList<>();
    List<Long> with = new ArrayList<>();
    List<Long> broadcasts = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      without.add(bringUp(agent(quiet()), 32));
      TestAgent checked = agent(new SegmentScanner(new AoeSegmentProbe(Clock.systemUTC()), Clock.systemUTC(),
          SegmentScanner.ANSWER_WAIT));
      with.add(bringUp(checked, 32));
      broadcasts.add(checked.segment.scansOf(segment.agentIface()));
    }
    long bestWithout = without.stream().mapToLong(Long::longValue).min().orElseThrow();
    long bestWith = with.stream().mapToLong(Long::longValue).min().orElseThrow();
    System.out.printf("wire check, 32 slots brought up one after another: without %s ms, with %s ms;"
        + " broadcasts per bring-up %s (%d ms answer wait each); best of 3: overhead %d ms (%.1f ms per slot)%n",
        without, with, broadcasts, SegmentScanner.ANSWER_WAIT.toMillis(), bestWith - bestWithout,
        (bestWith - bestWithout) / 32.0);
    assertThat(broadcasts).as("one broadcast per interface shared by the slots").allMatch(n -> n >= 1 && n < 32);
  }

  private SegmentScanner quiet() {
    return new SegmentScanner((iface, wait) -> new SegmentScan(iface, new MacAddress(0), List.of(), Instant.now()),
        Clock.systemUTC(), Duration.ZERO);
  }

  /** Reconciles slots 0..count-1 to Serving, then deletes them; returns the bring-up time in ms. */
  private long bringUp(TestAgent agent, int count) {
    List<AoeBootSlot> slots = new ArrayList<>();
    long start = System.nanoTime();
    for (int n = 0; n < count; n++) {
      AoeBootSlot slot = slot(n);
      assertThat(reconcile(agent, slot).getPhase()).as("slot %d", n).isEqualTo(SlotPhase.Serving);
      slots.add(slot);
    }
    long elapsedMs = (System.nanoTime() - start) / 1_000_000;
    for (AoeBootSlot slot : slots) {
      assertThat(agent.reconciler.cleanup(slot, null).isRemoveFinalizer()).isTrue();
    }
    return elapsedMs;
  }
}
