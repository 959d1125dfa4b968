package io.cowherd.agent.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.agent.support.HostTools;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real vblade(8) processes on a veth pair this test creates and deletes (named {@code cwt<hex>});
 * no other interface is touched.
 */
@Tag("host")
class VbladeSupervisorHostTest {
  @TempDir Path tmp;
  private String iface;
  private Path disk;
  private Path log;
  private Vblade vblade;
  private VbladeProcesses processes;
  private ScheduledExecutorService scheduler;
  private final List<SlotId> changes = new CopyOnWriteArrayList<>();
  private final List<VbladeSupervisor> supervisors = new ArrayList<>();
  private final List<Process> manual = new ArrayList<>();
  private final SlotId id = new SlotId("lab", "debian", 3);

  @BeforeEach
  void setUp() throws IOException {
    HostTools.requireRoot();
    vblade = HostTools.requireVblade();
    iface = HostTools.createVethPair();
    disk = tmp.resolve("slot-3.img");
    try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    log = tmp.resolve("slot-3.vblade.log");
    processes = new VbladeProcesses(Path.of("/proc"), vblade);
    scheduler = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterEach
  void cleanUp() {
    supervisors.forEach(VbladeSupervisor::close);
    manual.forEach(Process::destroyForcibly);
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
    HostTools.killVbladesMentioning(tmp.toString());
    HostTools.deleteVethPair(iface);
  }

  private VbladeSupervisor supervisor() {
    VbladeSupervisor s = new VbladeSupervisor(vblade, processes, scheduler, Clock.systemUTC(), Backoff.DEFAULT, changes::add,
        new SegmentScanner(new AoeSegmentProbe(Clock.systemUTC()), Clock.systemUTC(), SegmentScanner.ANSWER_WAIT));
    supervisors.add(s);
    return s;
  }

  private VbladeTarget target() {
    return new VbladeTarget(9, 3, iface, disk);
  }

  private List<VbladeProcess> exportersOfOurTarget() {
    return processes.scan().stream().filter(p -> p.target().sameAddress(target()) || p.target().path().equals(disk)).toList();
  }

  private Process startManually(VbladeTarget t) throws IOException {
    Process p = new ProcessBuilder(vblade.argv(t)).redirectOutput(Redirect.DISCARD)
        .redirectError(Redirect.DISCARD).redirectInput(Redirect.from(new File("/dev/null"))).start();
    manual.add(p);
    await().atMost(Duration.ofSeconds(5)).until(() -> processes.scan().stream().anyMatch(v -> v.pid() == p.pid()));
    return p;
  }

  /**
   * vblade 25 takes no lock on its file: a second one with our exact argv, or one serving our store
   * under another address or without -s, runs beside ours on the same NIC (same MAC, so the wire
   * check cannot tell them apart). The running exporter's check stops them and keeps ours.
   */
  @Test
  void otherVbladesServingOurStoreBesideARunningExporterAreStoppedAndOursKept() throws IOException {
    VbladeSupervisor s = supervisor();
    ExporterState ours = s.ensure(id, target(), log);
    assertThat(ours.running()).isTrue();
    Process exact = startManually(target());
    Process writeCached = startManually(new VbladeTarget(9, 3, iface, disk, true));
    Process otherAddress = startManually(new VbladeTarget(9, 4, iface, disk));
    Path other = tmp.resolve("other.img");
    try (RandomAccessFile f = new RandomAccessFile(other.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    Process unrelated = startManually(new VbladeTarget(9, 5, iface, other));
    assertThat(exportersOfOurTarget()).hasSize(4);

    List<Long> stopped = s.stopOthers(id);

    assertThat(stopped).containsExactlyInAnyOrder(exact.pid(), writeCached.pid(), otherAddress.pid());
    assertThat(exportersOfOurTarget()).extracting(VbladeProcess::pid).containsExactly(ours.pid());
    assertThat(s.state(id).orElseThrow().pid()).as("ours kept, not restarted").isEqualTo(ours.pid());
    assertThat(s.state(id).orElseThrow().restarts()).isZero();
    assertThat(unrelated.isAlive()).as("a vblade of another store and target is left alone").isTrue();
  }

  @Test
  void killedExporterIsRestartedWithinFiveSecondsAndCounted() {
    VbladeSupervisor s = supervisor();
    ExporterState first = s.ensure(id, target(), log);
    assertThat(first.running()).isTrue();
    assertThat(first.adopted()).isFalse();
    long firstPid = first.pid();

    ProcessHandle.of(firstPid).orElseThrow().destroyForcibly();

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      ExporterState now = s.state(id).orElseThrow();
      assertThat(now.running()).isTrue();
      assertThat(now.pid()).isNotEqualTo(firstPid);
      assertThat(now.restarts()).isEqualTo(1);
      assertThat(now.lastExitCode()).as("not the agent's child: its exit status went to its reaper").isNull();
    });
    assertThat(changes).contains(id);
    assertThat(exportersOfOurTarget()).hasSize(1);
  }

  @Test
  void exporterKilledBySignalAfterServingIsRestartedAtOnceWithoutBackoff() {
    VbladeSupervisor s = supervisor();
    long firstPid = s.ensure(id, target(), log).pid();
    long started = System.nanoTime();
    await().pollDelay(VbladeSupervisor.SERVING_AFTER).atMost(VbladeSupervisor.SERVING_AFTER.plusSeconds(1))
        .until(() -> System.nanoTime() - started >= VbladeSupervisor.SERVING_AFTER.toNanos());

    ProcessHandle.of(firstPid).orElseThrow().destroyForcibly(); // as vblade 25's abort on a crafted frame

    await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> {
      ExporterState now = s.state(id).orElseThrow();
      assertThat(now.running()).isTrue();
      assertThat(now.pid()).isNotEqualTo(firstPid);
      assertThat(now.consecutiveFailures()).as("no backoff step").isZero();
    });
  }

  /**
   * Exits are seen through the exporter's pidfd as they happen (one poll(2) thread for all), not by
   * the {@code /proc} sweep, which runs only every {@link VbladeSupervisor#SWEEP_PERIOD} beside it.
   */
  @Test
  void killedExporterIsSeenByItsPidfdLongBeforeTheSweep() {
    VbladeSupervisor s = supervisor();
    assertThat(s.watchesByPidfd()).as("pidfd_open(2) works on this kernel (Linux >= 5.3)").isTrue();
    long firstPid = s.ensure(id, target(), log).pid();
    changes.clear();
    long killedAt = System.nanoTime();

    ProcessHandle.of(firstPid).orElseThrow().destroyForcibly();

    await().atMost(VbladeSupervisor.SWEEP_PERIOD.dividedBy(4)).pollInterval(Duration.ofMillis(5))
        .until(() -> changes.contains(id));
    System.out.printf("exporter exit reported %.1f ms after SIGKILL%n", (System.nanoTime() - killedAt) / 1e6);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      ExporterState now = s.state(id).orElseThrow();
      assertThat(now.running()).isTrue();
      assertThat(now.pid()).isNotEqualTo(firstPid);
    });
  }

  /**
   * Between slot reconciles (every {@link io.cowherd.agent.slot.SlotReconciler#RESYNC_SECONDS} s),
   * the sweep's batched claims re-check hands a slot with a second vblade of its exact argv to the
   * listener (its reconcile then stops it through {@link VbladeSupervisor#stopOthers}).
   */
  @Test
  void aSecondExporterOfOurTargetIsHandedToTheListenerByTheSweep() throws IOException {
    VbladeSupervisor s = supervisor();
    s.ensure(id, target(), log);
    changes.clear();

    startManually(target());

    await().atMost(VbladeSupervisor.SWEEP_PERIOD.plusSeconds(5)).until(() -> changes.contains(id));
  }

  @Test
  void exporterDyingRightAfterStartKeepsItsBackoff() {
    VbladeSupervisor s = supervisor();
    long firstPid = s.ensure(id, target(), log).pid();

    ProcessHandle.of(firstPid).orElseThrow().destroyForcibly(); // well before SERVING_AFTER, no frame from the wire

    await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> {
      ExporterState now = s.state(id).orElseThrow();
      assertThat(now.consecutiveFailures()).isEqualTo(1);
    });
  }

  @Test
  void stopLeavesNoExporterOfTheSlot() {
    VbladeSupervisor s = supervisor();
    long pid = s.ensure(id, target(), log).pid();
    s.stop(id, List.of(disk));
    // Not ProcessHandle.isAlive: the exporter is not our child, and a zombie waiting for its reaper counts as alive there.
    assertThat(processes.identify(pid)).as("ended (at most a zombie left for its reaper)").isEmpty();
    assertThat(exportersOfOurTarget()).isEmpty();
    assertThat(s.state(id)).isEmpty();
  }

  @Test
  void preExistingExporterWithOurArgvIsAdoptedNotDuplicated() throws IOException {
    Process existing = startManually(target());
    VbladeSupervisor s = supervisor();
    ExporterState state = s.ensure(id, target(), log);
    assertThat(state.pid()).isEqualTo(existing.pid());
    assertThat(state.adopted()).isTrue();
    assertThat(exportersOfOurTarget()).extracting(VbladeProcess::pid).containsExactly(existing.pid());

    existing.destroyForcibly();
    await().atMost(Duration.ofSeconds(8)).untilAsserted(() -> {
      ExporterState now = s.state(id).orElseThrow();
      assertThat(now.running()).isTrue();
      assertThat(now.restarts()).isEqualTo(1);
      assertThat(now.lastExitCode()).as("exit code of a process that is not our child is unknown").isNull();
    });
    assertThat(exportersOfOurTarget()).hasSize(1);
    s.stop(id, List.of(disk));
    assertThat(exportersOfOurTarget()).isEmpty();
  }

  /**
   * Launches run outside the supervisor's monitor: slots whose exporters claim one address (shelf,
   * slot, interface), each with its own store, started at the same moment from as many threads,
   * still end with one exporter of that address; every other slot reports it as a conflict.
   */
  @Test
  void slotsClaimingOneAddressStartedAtOnceEndWithOneExporter() throws Exception {
    VbladeSupervisor s = supervisor();
    int slots = 6;
    List<Path> disks = new ArrayList<>();
    for (int i = 0; i < slots; i++) {
      Path d = tmp.resolve("claim-" + i + ".img");
      try (RandomAccessFile f = new RandomAccessFile(d.toFile(), "rw")) {
        f.setLength(1 << 20);
      }
      disks.add(d);
    }
    CountDownLatch go = new CountDownLatch(1);
    List<ExporterState> states = new ArrayList<>();
    try (ExecutorService threads = Executors.newFixedThreadPool(slots)) {
      List<Future<ExporterState>> started = new ArrayList<>();
      for (int i = 0; i < slots; i++) {
        int n = i;
        started.add(threads.submit(() -> {
          go.await();
          return s.ensure(new SlotId("lab", "debian", 10 + n), new VbladeTarget(9, 3, iface, disks.get(n)),
              tmp.resolve("claim-" + n + ".log"));
        }));
      }
      go.countDown();
      for (Future<ExporterState> f : started) {
        states.add(f.get(60, TimeUnit.SECONDS));
      }
    }
    assertThat(states).filteredOn(ExporterState::running).hasSize(1);
    assertThat(states).filteredOn(st -> st.conflict() != null).hasSize(slots - 1);
    assertThat(processes.scan()).filteredOn(p -> p.target().sameAddress(target())).hasSize(1);
  }

  @Test
  void foreignExporterOfTheSameTargetIsAConflictAndNothingStarts() throws IOException {
    Path other = tmp.resolve("not-ours.img");
    try (RandomAccessFile f = new RandomAccessFile(other.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    Process foreign = startManually(new VbladeTarget(9, 3, iface, other));
    ExporterState state = supervisor().ensure(id, target(), log);
    assertThat(state.running()).isFalse();
    assertThat(state.conflict().pid()).isEqualTo(foreign.pid());
    assertThat(exportersOfOurTarget()).extracting(VbladeProcess::pid).containsExactly(foreign.pid());
  }

  @Test
  void lastStderrLineIsRecordedAndTheExitCodeIsUnknown() {
    VbladeSupervisor s = supervisor();
    VbladeTarget missingIface = new VbladeTarget(9, 3, iface + "x", disk);
    s.ensure(id, missingIface, log);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      ExporterState now = s.state(id).orElseThrow();
      assertThat(now.lastExitCode()).as("exporters are never the agent's children").isNull();
      assertThat(now.lastError()).isEqualTo(iface + "x: No such device");
      assertThat(now.consecutiveFailures()).isGreaterThanOrEqualTo(1);
    });
    s.stop(id, List.of(disk));
  }

  @Test
  void closingTheSupervisorLeavesExportersRunningForTheNextAgent() {
    VbladeSupervisor first = supervisor();
    long pid = first.ensure(id, target(), log).pid();
    first.close();
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isTrue();

    VbladeSupervisor next = supervisor();
    ExporterState adopted = next.ensure(id, target(), log);
    assertThat(adopted.pid()).isEqualTo(pid);
    assertThat(adopted.adopted()).isTrue();
    assertThat(exportersOfOurTarget()).hasSize(1);
    next.stop(id, List.of(disk));
    assertThat(exportersOfOurTarget()).isEmpty();
  }
  @Test
  void extraExportersWithOurExactArgvAreStoppedWhenAdopting() throws IOException {
    Process first = startManually(target());
    Process second = startManually(target());
    ExporterState state = supervisor().ensure(id, target(), log);
    assertThat(state.adopted()).isTrue();
    assertThat(List.of(first.pid(), second.pid())).contains(state.pid());
    assertThat(exportersOfOurTarget()).extracting(VbladeProcess::pid).containsExactly(state.pid());
  }

  @Test
  void anExporterAnOlderAgentStartedWithoutSyncIsReplacedByADurableOne() throws IOException {
    Process old = new ProcessBuilder(vblade.program(), "9", "3", iface, disk.toString()).redirectOutput(Redirect.DISCARD)
        .redirectError(Redirect.DISCARD).redirectInput(Redirect.from(new File("/dev/null"))).start();
    manual.add(old);
    await().atMost(Duration.ofSeconds(5)).until(() -> processes.scan().stream().anyMatch(v -> v.pid() == old.pid()));
    ExporterState state = supervisor().ensure(id, target(), log);
    assertThat(state.running()).isTrue();
    assertThat(state.conflict()).as("ours by path, not a conflict").isNull();
    assertThat(state.pid()).isNotEqualTo(old.pid());
    assertThat(old.isAlive()).isFalse();
    assertThat(exportersOfOurTarget()).singleElement().satisfies(p -> {
      assertThat(p.options()).containsExactly("-s");
      assertThat(p.isExactly(target())).isTrue();
    });
  }

  @Test
  void changingTheWriteCacheRestartsOnlyThatSlotsExporter() throws IOException {
    Path otherDisk = tmp.resolve("slot-4.img");
    try (RandomAccessFile f = new RandomAccessFile(otherDisk.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    SlotId otherId = new SlotId("lab", "debian", 4);
    VbladeTarget other = new VbladeTarget(9, 4, iface, otherDisk);
    VbladeSupervisor s = supervisor();
    long otherPid = s.ensure(otherId, other, tmp.resolve("slot-4.vblade.log")).pid();
    long durablePid = s.ensure(id, target(), log).pid();

    VbladeTarget cached = new VbladeTarget(9, 3, iface, disk, true);
    ExporterState now = s.ensure(id, cached, log);
    assertThat(now.running()).isTrue();
    assertThat(now.pid()).isNotEqualTo(durablePid);
    assertThat(exportersOfOurTarget()).singleElement().satisfies(p -> {
      assertThat(p.options()).as("write cache: no -s").isEmpty();
      assertThat(p.isExactly(cached)).isTrue();
    });
    assertThat(s.ensure(otherId, other, tmp.resolve("slot-4.vblade.log")).pid()).as("other slot untouched").isEqualTo(otherPid);

    long cachedPid = now.pid();
    s.close(); // the agent ends (its pidfd watcher would otherwise restart what the next one replaces)
    VbladeSupervisor next = supervisor(); // a restarted agent adopts the cached exporter it asks for
    assertThat(next.ensure(id, cached, log).pid()).isEqualTo(cachedPid);
    assertThat(next.ensure(id, target(), log).pid()).as("and replaces it when durable is asked for").isNotEqualTo(cachedPid);
    assertThat(exportersOfOurTarget()).singleElement().satisfies(p -> assertThat(p.options()).containsExactly("-s"));
    next.stop(id, List.of(disk));
    next.stop(otherId, List.of(otherDisk));
  }

  @Test
  void vbladeTakesAnInterfaceStartingWithADashAsAnInterfaceAfterDoubleDash() {
    VbladeSupervisor s = supervisor();
    s.ensure(id, new VbladeTarget(9, 3, "-" + iface, disk), log);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      ExporterState now = s.state(id).orElseThrow();
      assertThat(now.lastError()).as("not getopt's 'invalid option'").isEqualTo("-" + iface + ": No such device");
    });
    s.stop(id, List.of(disk));
  }
}
