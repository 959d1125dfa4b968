package io.cowherd.agent.export;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.agent.support.HostTools;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's thread count does not grow with its exporters (issue 11): 64 real vblade processes on
 * a veth pair this test creates and deletes, supervised by one supervisor; the JVM's live thread
 * count is printed before and after. (Before exporters were started outside the agent, each one
 * held a JDK "process reaper" thread.)
 */
@Tag("host")
class ExporterThreadsHostTest {
  private static final int EXPORTERS = 64;
  /** Threads the JDK may still hold for the short-lived setsid launchers (a cached pool, idle ones end after 60 s). */
  private static final int LAUNCHER_SLACK = 4;

  @TempDir Path tmp;
  private String iface;
  private ScheduledExecutorService scheduler;
  private VbladeSupervisor supervisor;
  private final List<SlotId> ids = new ArrayList<>();

  @BeforeEach
  void setUp() {
    HostTools.requireRoot();
    iface = HostTools.createVethPair();
    scheduler = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterEach
  void cleanUp() {
    if (supervisor != null) {
      ids.forEach(id -> supervisor.stop(id, List.of()));
      supervisor.close();
    }
    scheduler.shutdownNow();
    HostTools.killVbladesMentioning(tmp.toString());
    HostTools.deleteVethPair(iface);
  }

  @Test
  void sixtyFourExportersAddNoThreadPerExporter() throws IOException {
    supervisor = HostTools.hostSupervisor(HostTools.requireVblade(), scheduler);
    supervisor.state(new SlotId("lab", "warm", 0)); // classes loaded, scheduler thread started
    int before = ManagementFactory.getThreadMXBean().getThreadCount();

    for (int n = 0; n < EXPORTERS; n++) {
      Path disk = tmp.resolve("slot-" + n + ".img");
      try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
        f.setLength(1 << 20);
      }
      SlotId id = new SlotId("lab", "debian", n);
      ids.add(id);
      ExporterState state = supervisor.ensure(id, new VbladeTarget(9, n, iface, disk), tmp.resolve("slot-" + n + ".log"));
      assertThat(state.running()).as("exporter %d runs", n).isTrue();
    }
    int after = ManagementFactory.getThreadMXBean().getThreadCount();

    System.out.printf("agent threads: %d with no exporter, %d with %d exporters%n", before, after, EXPORTERS);
    assertThat(after - before).as("threads added by %d exporters", EXPORTERS).isLessThanOrEqualTo(LAUNCHER_SLACK);
  }

  /**
   * The watchers' cost: CPU time of the supervisor's scheduler thread (its {@code /proc} sweep; it
   * runs nothing else here: no restarts are due) over a measurement window with 64 exporters,
   * printed per exporter and second; bounded loosely (under 2% of a core for 64: measured 0.2-0.6%
   * with the 500 ms sweep on this shared 2-core machine, 0.025% with pidfds and the 10 s sweep), as a
   * tripwire against a per-exporter cost gone wrong, not a benchmark. The pidfd watcher's own thread
   * blocks in poll(2) and is not counted here; it costs nothing while no exporter exits.
   */
  @Test
  void theOneWatcherCostsLittleCpuPerExporter() throws Exception {
    sixtyFourExportersAddNoThreadPerExporter();
    long tid = scheduler.submit(() -> Thread.currentThread().threadId()).get();
    java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    long cpu0 = mx.getThreadCpuTime(tid);
    long wall0 = System.nanoTime();
    Thread.sleep(10_000); // measurement window, not a wait for an effect
    double cpuSeconds = (mx.getThreadCpuTime(tid) - cpu0) / 1e9;
    double wallSeconds = (System.nanoTime() - wall0) / 1e9;
    System.out.printf("watcher CPU with %d exporters: %.4f s per %.1f s (%.3f%% of a core; %.1f us per exporter check)%n",
        EXPORTERS, cpuSeconds, wallSeconds, 100 * cpuSeconds / wallSeconds,
        1e6 * cpuSeconds / (EXPORTERS * wallSeconds / ((supervisor.watchesByPidfd() ? VbladeSupervisor.SWEEP_PERIOD
            : VbladeSupervisor.WATCH_PERIOD).toMillis() / 1000.0)));
    assertThat(cpuSeconds / wallSeconds).as("share of a core").isLessThan(0.02);
  }
}
