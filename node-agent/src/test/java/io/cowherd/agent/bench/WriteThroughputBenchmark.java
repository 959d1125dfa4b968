package io.cowherd.agent.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.backend.CowRequest;
import io.cowherd.agent.backend.CowStore;
import io.cowherd.agent.backend.ReflinkBackend;
import io.cowherd.agent.host.Cp;
import io.cowherd.agent.host.ExecCommandRunner;
import io.cowherd.agent.host.Filefrag;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.agent.support.HostTools;
import io.cowherd.agent.support.LoopMountedFs;
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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What durable writes cost on the reflink backend: client write throughput through vblade
 * started with exactly the agent's argv ({@link Vblade#argv}) for a durable target ({@code -s})
 * and for one with the write cache, in the same run, printed, not asserted (lines starting {@code
 * BENCHMARK}). Each slot is a FICLONE clone made by {@link ReflinkBackend} on a loop-mounted XFS
 * ({@code mkfs.xfs -m reflink=1}) whose image file lies on this host's {@code /tmp} filesystem;
 * the client is cowherd's AoE initiator in a network namespace on a veth pair of the given MTU.
 * Every run writes a region not written before, so each write also unshares reflinked extents,
 * as a client's first writes do.
 *
 * <p>Its name matches none of surefire's default includes, so neither the default build nor
 * {@code -Pall-tests} runs it; run it by name as root: {@code ./mvnw -pl node-agent test
 * -Dtest=WriteThroughputBenchmark -Dtest.excludedGroups= -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("host")
@Tag("benchmark")
class WriteThroughputBenchmark {
  private static final int ORIGIN_BYTES = 64 << 20;
  /** Bytes per run: 3 runs per mode fit in the origin without writing any region twice. */
  private static final int RUN_BYTES = 16 << 20;
  /** One client write call: 128 KiB, what a Linux filesystem commonly sends; the initiator splits it into frames. */
  private static final int WRITE_BYTES = 128 << 10;
  private static final int RUNS = 3;

  @TempDir Path tmp;

  @ParameterizedTest(name = "MTU {0}")
  @ValueSource(ints = {1500, 9000})
  void reflinkWriteThroughputDurableAndWithWriteCache(int mtu) throws Exception {
    HostTools.requireRoot();
    Vblade vblade = HostTools.requireVblade();
    String iface = HostTools.uniqueIfaceName();
    String netns = iface + "-c";
    List<Process> exporters = new ArrayList<>();
    try (LoopMountedFs fs = LoopMountedFs.xfs(tmp, 1)) {
      Path origin = Files.createDirectories(fs.mountPoint().resolve("images")).resolve("origin.img");
      byte[] data = new byte[ORIGIN_BYTES];
      new Random(42).nextBytes(data);
      Files.write(origin, data);
      ExecCommandRunner runner = new ExecCommandRunner();
      ReflinkBackend backend = new ReflinkBackend(new HostNames(Files.createDirectories(fs.mountPoint().resolve("state"))),
          new Cp(runner), new Filefrag(runner));
      HostTools.run("ip", "netns", "add", netns);
      HostTools.run("ip", "link", "add", iface, "mtu", Integer.toString(mtu), "type", "veth", "peer", "name", "aoe0",
          "mtu", Integer.toString(mtu), "netns", netns);
      HostTools.run("ip", "link", "set", iface, "up");
      HostTools.run("ip", "-n", netns, "link", "set", "aoe0", "up");

      try {
        AoeTarget durable = new AoeTarget(42, 0);
        AoeTarget cached = new AoeTarget(42, 1);
        for (AoeTarget t : List.of(durable, cached)) {
          CowStore clone = backend.provision(new CowRequest(new SlotId("bench", "w", t.slot()), origin, ORIGIN_BYTES, 64));
          List<String> argv = vblade.argv(new VbladeTarget(t.shelf(), t.slot(), iface, clone.exportPath(), t == cached));
          exporters.add(new ProcessBuilder(argv).redirectInput(Redirect.from(new File("/dev/null")))
              .redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD).start());
          System.out.println("exporter: " + String.join(" ", argv));
        }
        try (AoeInitiator client = AoeInitiator.openInNamespace(netns, "aoe0", InitiatorOptions.defaults())) {
          await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(client.discover(Duration.ofMillis(200)))
              .extracting(d -> d.target()).contains(durable, cached));
          client.discover(durable);
          client.discover(cached);
          byte[] chunk = Arrays.copyOf(data, WRITE_BYTES);
          new Random(7).nextBytes(chunk);
          double[] durableRuns = new double[RUNS];
          double[] cachedRuns = new double[RUNS];
          for (int run = 0; run < RUNS; run++) { // alternating, so both see the same host conditions
            durableRuns[run] = writeRun(client, durable, run, chunk);
            cachedRuns[run] = writeRun(client, cached, run, chunk);
          }
          byte[] back = client.read(durable, (long) (RUNS - 1) * RUN_BYTES / 512, WRITE_BYTES / 512);
          assertThat(back).as("the last durable run's first write reads back").isEqualTo(chunk);
          double bestDurable = Arrays.stream(durableRuns).max().orElseThrow();
          double bestCached = Arrays.stream(cachedRuns).max().orElseThrow();
          System.out.printf(Locale.ROOT, "BENCHMARK write %d MiB to a reflink clone (XFS on a loop file), MTU %d, %d KiB per"
                  + " write: durable (vblade -s) best %.1f MB/s (runs %s), write cache best %.1f MB/s (runs %s);"
                  + " durable = %.0f%% of write cache; %d retransmissions%n",
              RUN_BYTES >> 20, mtu, WRITE_BYTES >> 10, bestDurable, runs(durableRuns), bestCached, runs(cachedRuns),
              100 * bestDurable / bestCached, client.retransmissionCount());
        }
      } finally {
        for (Process p : exporters) { // before the filesystem they serve is unmounted
          p.destroyForcibly().waitFor();
        }
      }
    } finally {
      HostTools.runQuietly("ip", "netns", "del", netns);
      HostTools.deleteVethPair(iface);
    }
  }

  /** Writes {@link #RUN_BYTES} at region {@code run} in {@link #WRITE_BYTES} calls; MB/s (10^6 bytes/s). */
  private static double writeRun(AoeInitiator client, AoeTarget target, int run, byte[] chunk) throws IOException {
    long firstLba = (long) run * RUN_BYTES / 512;
    long started = System.nanoTime();
    for (int off = 0; off < RUN_BYTES; off += WRITE_BYTES) {
      client.write(target, firstLba + off / 512, chunk);
    }
    return RUN_BYTES / ((System.nanoTime() - started) / 1e9) / 1e6;
  }

  private static String runs(double[] mbs) {
    StringBuilder b = new StringBuilder();
    for (double v : mbs) {
      b.append(b.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.1f", v));
    }
    return b.toString();
  }
}
