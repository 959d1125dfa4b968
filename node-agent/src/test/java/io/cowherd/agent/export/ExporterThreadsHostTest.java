package io.cowherd.agent.export;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.agent.support.HostTools;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Clock;
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
    Vblade vblade = new Vblade(HostTools.requireProgram("vblade", "vblade").toString());
    supervisor = new VbladeSupervisor(vblade, new VbladeProcesses(Path.of("/proc"), vblade), scheduler,
        Clock.systemUTC(), Backoff.DEFAULT, id -> {},
        new SegmentScanner(new AoeSegmentProbe(Clock.systemUTC()), Clock.systemUTC(), SegmentScanner.ANSWER_WAIT));
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
}
