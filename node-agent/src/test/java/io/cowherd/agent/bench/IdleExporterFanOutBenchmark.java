package io.cowherd.agent.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.agent.support.HostTools;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.InitiatorOptions;
import java.io.File;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11, goal 5's fan-out: one reader's throughput with {@value #IDLE} idle exporters on the
 * same NIC versus alone. Every frame that reaches the NIC is handed to every AoE packet socket
 * (each vblade binds one, ETH_P_AOE, on that interface) and runs its BPF filter, so idle exporters
 * may cost the busy one. One veth pair in a namespace this test creates, the reader's exporter
 * (vblade with the agent's argv, {@link Vblade#argv}) serving a 64 MiB file from this host's temp
 * dir (page cache after the first run), cowherd's AoE initiator reading {@value #RUN_BYTES} bytes
 * per run in 128 KiB calls; runs: alone, with the idle exporters (other shelf, same interface),
 * alone again; best of {@value #RUNS} each. Also prints the CPU the idle exporters used during
 * their runs ({@code /proc/<pid>/stat} utime+stime), and the 1-minute load average. Printed (lines
 * starting {@code BENCHMARK}), not asserted. Run by name as root: {@code ./mvnw -pl node-agent test
 * -Dtest=IdleExporterFanOutBenchmark -Dtest.excludedGroups= -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("host")
@Tag("benchmark")
class IdleExporterFanOutBenchmark {
  private static final int IDLE = 254;
  private static final int FILE_BYTES = 64 << 20;
  private static final int RUN_BYTES = 32 << 20;
  private static final int READ_SECTORS = (128 << 10) / 512;
  private static final int RUNS = 3;

  @TempDir Path tmp;

  @Test
  void oneReaderAloneAndBesideIdleExporters() throws Exception {
    HostTools.requireRoot();
    Vblade vblade = HostTools.requireVblade();
    String iface = HostTools.uniqueIfaceName();
    String netns = iface + "-c";
    Path disk = tmp.resolve("disk.img");
    byte[] data = new byte[FILE_BYTES];
    new Random(42).nextBytes(data);
    Files.write(disk, data);
    List<Process> idle = new ArrayList<>();
    Process reader = null;
    HostTools.run("ip", "netns", "add", netns);
    try {
      HostTools.run("ip", "link", "add", iface, "type", "veth", "peer", "name", "aoe0", "netns", netns);
      HostTools.run("ip", "link", "set", iface, "up");
      HostTools.run("ip", "-n", netns, "link", "set", "aoe0", "up");
      AoeTarget target = new AoeTarget(42, 0);
      reader = start(vblade.argv(new VbladeTarget(42, 0, iface, disk)));
      try (AoeInitiator client = AoeInitiator.openInNamespace(netns, "aoe0", InitiatorOptions.defaults())) {
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(client.discover(Duration.ofMillis(200)))
            .extracting(d -> d.target()).contains(target));
        client.discover(target);
        readRun(client, target); // warm: page cache, JIT
        double[] alone = runs(client, target);
        for (int i = 0; i < IDLE; i++) {
          idle.add(start(vblade.argv(new VbladeTarget(43, i, iface, disk))));
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> client.discover(Duration.ofMillis(300)).size() >= IDLE + 1);
        double cpu0 = cpuSeconds(idle);
        long t0 = System.nanoTime();
        double[] beside = runs(client, target);
        double idleCpu = cpuSeconds(idle) - cpu0;
        double wall = (System.nanoTime() - t0) / 1e9;
        for (Process p : idle) {
          p.destroyForcibly().waitFor();
        }
        idle.clear();
        double[] again = runs(client, target);
        double bestAlone = Math.max(best(alone), best(again));
        System.out.printf(Locale.ROOT, "BENCHMARK one reader, %d MiB per run, 128 KiB reads: alone best %.1f MB/s (runs %s,"
                + " after %s); beside %d idle exporters best %.1f MB/s (runs %s) = %.2f of alone; idle exporters' CPU"
                + " %.2f s over %.1f s; load average %s%n",
            RUN_BYTES >> 20, best(alone), Arrays.toString(alone), Arrays.toString(again), IDLE, best(beside),
            Arrays.toString(beside), best(beside) / bestAlone, idleCpu, wall, Files.readString(Path.of("/proc/loadavg"))
                .split(" ")[0]);
      }
    } finally {
      for (Process p : idle) {
        p.destroyForcibly().waitFor();
      }
      if (reader != null) {
        reader.destroyForcibly().waitFor();
      }
      HostTools.runQuietly("ip", "netns", "del", netns);
      HostTools.deleteVethPair(iface);
    }
  }

  private static Process start(List<String> argv) throws IOException {
    return new ProcessBuilder(argv).redirectInput(Redirect.from(new File("/dev/null")))
        .redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD).start();
  }

  private static double[] runs(AoeInitiator client, AoeTarget target) throws IOException {
    double[] mbs = new double[RUNS];
    for (int i = 0; i < RUNS; i++) {
      mbs[i] = Math.round(readRun(client, target) * 10) / 10.0;
    }
    return mbs;
  }

  /** Reads {@link #RUN_BYTES} from the start of the target; MB/s (10^6 bytes/s). */
  private static double readRun(AoeInitiator client, AoeTarget target) throws IOException {
    long started = System.nanoTime();
    for (long lba = 0; lba < RUN_BYTES / 512; lba += READ_SECTORS) {
      client.read(target, lba, READ_SECTORS);
    }
    return RUN_BYTES / ((System.nanoTime() - started) / 1e9) / 1e6;
  }

  private static double best(double[] mbs) {
    return Arrays.stream(mbs).max().orElseThrow();
  }

  private static double cpuSeconds(List<Process> processes) {
    double s = 0;
    for (Process p : processes) {
      try {
        String stat = Files.readString(Path.of("/proc", Long.toString(p.pid()), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        s += (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
      } catch (IOException e) {
        // exited
      }
    }
    return s;
  }
}
