package io.cowherd.agent.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.export.AtaIoWatch;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.agent.support.HostTools;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.InitiatorOptions;
import java.io.File;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the ATA request watch ({@link AtaIoWatch}) costs the data path: client read throughput
 * through one vblade slot with the watch off and on, alternating in the same run, and the CPU the
 * watch's listener thread used (its thread CPU time, so the in-process client is not counted),
 * printed, not asserted (lines starting {@code BENCHMARK}). The client is cowherd's AoE initiator
 * in a network namespace on a veth pair of the given MTU; the exporter is vblade with the agent's
 * argv, serving a file in the page cache.
 *
 * <p>Its name matches none of surefire's default includes; run it by name as root: {@code ./mvnw
 * -pl node-agent test -Dtest=IoWatchCostBenchmark -Dtest.excludedGroups=
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("host")
@Tag("benchmark")
class IoWatchCostBenchmark {
  private static final int IMAGE_BYTES = 64 << 20;
  /** One client read call: 128 KiB, what a Linux filesystem commonly asks for; split into frames. */
  private static final int READ_BYTES = 128 << 10;
  private static final int RUNS = 8;

  @TempDir Path tmp;

  @ParameterizedTest(name = "MTU {0}")
  @ValueSource(ints = {1500, 9000})
  void readThroughputWithTheWatchOffAndOn(int mtu) throws Exception {
    HostTools.requireRoot();
    Vblade vblade = HostTools.requireVblade();
    String iface = HostTools.uniqueIfaceName();
    String netns = iface + "-c";
    Path image = tmp.resolve("disk.img");
    byte[] data = new byte[IMAGE_BYTES];
    new Random(42).nextBytes(data);
    Files.write(image, data);
    AoeTarget target = new AoeTarget(43, 0);
    Process exporter = null;
    try {
      HostTools.run("ip", "netns", "add", netns);
      HostTools.run("ip", "link", "add", iface, "mtu", Integer.toString(mtu), "type", "veth", "peer", "name", "aoe0",
          "mtu", Integer.toString(mtu), "netns", netns);
      HostTools.run("ip", "link", "set", iface, "up");
      HostTools.run("ip", "-n", netns, "link", "set", "aoe0", "up");
      List<String> argv = vblade.argv(new VbladeTarget(target.shelf(), target.slot(), iface, image));
      exporter = new ProcessBuilder(argv).redirectInput(Redirect.from(new File("/dev/null")))
          .redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD).start();
      try (AoeInitiator client = AoeInitiator.openInNamespace(netns, "aoe0", InitiatorOptions.defaults())) {
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(client.discover(Duration.ofMillis(200)))
            .extracting(d -> d.target()).contains(target));
        client.discover(target);
        readAll(client, target); // warm-up: page cache, JIT
        double[] off = new double[RUNS];
        double[] on = new double[RUNS];
        double[] cpuPercent = new double[RUNS];
        double[] cpuMsOff = new double[RUNS];
        double[] cpuMsOn = new double[RUNS];
        double[] nsPerRequest = new double[RUNS];
        long requests = 0;
        int sectorsPerFrame = (mtu - 36) / 512; // the initiator's frames: whole sectors after the 36-byte headers
        long expectedRequests = (long) ((READ_BYTES / 512 + sectorsPerFrame - 1) / sectorsPerFrame)
            * (IMAGE_BYTES / READ_BYTES);
        long dropped = 0;
        for (int run = 0; run < RUNS; run++) { // alternating, so both see the same host conditions
          if (run % 2 == 0) { // off first in even runs, on first in odd ones
            long cpuOff = processCpuNanos();
            off[run] = readAll(client, target);
            cpuMsOff[run] = (processCpuNanos() - cpuOff) / 1e6;
          }
          AtaIoWatch watch = new AtaIoWatch(AtaIoWatch::ring, Clock.systemUTC());
          try {
            watch.update(List.of(new AtaIoWatch.Exported(iface, target.shelf(), target.slot(), Set.of())));
            await().atMost(Duration.ofSeconds(5)).until(() -> watch.watching(iface)
                && watch.slot(iface, target.shelf(), target.slot()).isPresent());
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> { // the filter is attached: requests are counted
              client.read(target, 0, 1);
              assertThat(watch.slot(iface, target.shelf(), target.slot()).orElseThrow().readRequests()).isPositive();
            });
            long before = watch.slot(iface, target.shelf(), target.slot()).orElseThrow().readRequests();
            long cpuBefore = watchCpuNanos(iface);
            long started = System.nanoTime();
            long cpuOn = processCpuNanos();
            on[run] = readAll(client, target);
            cpuMsOn[run] = (processCpuNanos() - cpuOn) / 1e6;
            long wall = System.nanoTime() - started;
            long cpu = watchCpuNanos(iface) - cpuBefore;
            AtaIoWatch.SlotIo io = watch.slot(iface, target.shelf(), target.slot()).orElseThrow();
            // the last block reaches the listener up to RING_BLOCK_TIMEOUT later: every request is counted then
            await().atMost(Duration.ofSeconds(2)).until(() -> io.readRequests() - before >= expectedRequests);
            long seen = io.readRequests() - before;
            cpuPercent[run] = 100.0 * cpu / wall;
            nsPerRequest[run] = seen == 0 ? Double.NaN : (double) cpu / seen;
            requests = seen;
            Thread.sleep(1100); // one statistics period: the listener reads the drop counter once a second (printed only)
            dropped += watch.droppedFrames(iface);
          } finally {
            watch.close();
          }
          // the listener closes its ring within its receive timeout: off means no watch socket at all
          await().atMost(Duration.ofSeconds(5)).until(() -> watchCpuNanos(iface) == 0);
          if (run % 2 == 1) {
            long cpuOff = processCpuNanos();
            off[run] = readAll(client, target);
            cpuMsOff[run] = (processCpuNanos() - cpuOff) / 1e6;
          }
        }
        double bestOff = Arrays.stream(off).max().orElseThrow();
        double bestOn = Arrays.stream(on).max().orElseThrow();
        double medianOff = median(off);
        double medianOn = median(on);
        System.out.printf(Locale.ROOT, "BENCHMARK read %d MiB per run through one vblade slot, MTU %d, %d KiB per read:"
                + " watch off best %.1f MB/s (runs %s), watch on best %.1f MB/s (runs %s): on = %.1f%% of off"
                + " (medians %.1f vs %.1f MB/s: %.1f%%);"
                + " watch thread CPU %s %% of one core (runs), %s ns per request; %d requests per run seen (of %d);"
                + " %d frames dropped by the watch socket; %d retransmissions;"
                + " CPU time of this JVM (client, watch, and the kernel's receive path the client's sends run) per run:"
                + " off median %.0f ms (runs %s), on median %.0f ms (runs %s)%n",
            IMAGE_BYTES >> 20, mtu, READ_BYTES >> 10, bestOff, runs(off), bestOn, runs(on), 100 * bestOn / bestOff,
            medianOff, medianOn, 100 * medianOn / medianOff,
            runs(cpuPercent), runs(nsPerRequest), requests, expectedRequests, dropped, client.retransmissionCount(),
            median(cpuMsOff), runs(cpuMsOff), median(cpuMsOn), runs(cpuMsOn));
      }
    } finally {
      if (exporter != null) {
        exporter.destroyForcibly().waitFor();
      }
      HostTools.runQuietly("ip", "netns", "del", netns);
      HostTools.deleteVethPair(iface);
    }
  }

  /** Reads the whole image in {@link #READ_BYTES} calls; MB/s (10^6 bytes/s). */
  private static double readAll(AoeInitiator client, AoeTarget target) throws IOException {
    byte[] buffer = new byte[READ_BYTES];
    long started = System.nanoTime();
    for (int off = 0; off < IMAGE_BYTES; off += READ_BYTES) {
      client.read(target, off / 512, READ_BYTES / 512, buffer, 0);
    }
    return IMAGE_BYTES / ((System.nanoTime() - started) / 1e9) / 1e6;
  }

  /** CPU time of this JVM so far (user and system). */
  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  /** CPU time of the watch's listener thread of {@code iface}; 0 when it no longer runs. */
  private static long watchCpuNanos(String iface) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().equals("aoe-io-watch-" + iface) && t.isAlive())
        .mapToLong(t -> threads.getThreadCpuTime(t.threadId()))
        .sum();
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted.length % 2 == 1 ? sorted[sorted.length / 2]
        : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  }

  private static String runs(double[] values) {
    StringBuilder b = new StringBuilder();
    for (double v : values) {
      b.append(b.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.1f", v));
    }
    return b.toString();
  }
}
