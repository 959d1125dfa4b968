package io.cowherd.agent.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.export.VbladeSupervisor;
import io.cowherd.agent.host.ExecCommandRunner;
import io.cowherd.agent.host.ExporterLinks;
import io.cowherd.agent.host.SlotId;
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
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11, goal 5's fan-out: one reader's throughput beside {@link #IDLE_COUNTS} idle exporters
 * on the same NIC versus alone, for each way of placing the exporters ({@link Placement}), all in
 * one run.
 *
 * <p>Why it costs: each vblade binds one AF_PACKET socket, protocol ETH_P_AOE, to its interface
 * ({@code linux.c dial()} in vblade 25), which the kernel keeps on that device's {@code
 * ptype_specific} list ({@code net/core/dev.c ptype_head()}, since Linux 4.6). {@code
 * __netif_receive_skb_core} hands every received AoE frame to every entry of that list ({@code
 * deliver_skb}: a reference, an indirect call to {@code packet_rcv}, which runs the socket's BPF
 * filter on shelf and slot and drops the frame). The filter keeps the idle vblades asleep, but the
 * per-socket work is done in the receiving softirq, once per socket per frame. After an rx_handler
 * (macvlan) moves a frame to another device, the kernel delivers it to the original device's list
 * ({@code orig_dev->ptype_specific}) and to the new device's list: a socket bound to the lower
 * device still sees frames addressed to a macvlan on top of it. So a macvlan per exporter helps
 * only when no exporter stays bound to the lower device; {@link Placement#TARGET_ON_MACVLAN} shows
 * this on the wire.
 *
 * <p>Lab: namespace {@code <x>-x} holds the exporters' end of a veth pair ({@code nic}, standing
 * for the host's NIC) and, for the macvlan placements, one macvlan (mode bridge) per exporter on
 * it; namespace {@code <x>-c} holds the client's end ({@code aoe0}). All created and deleted here.
 * Exporters are vblade with the agent's argv ({@link Vblade#argv}), started in the exporters'
 * namespace with nsenter(1), serving one 64 MiB file from this host's temp dir (page cache after
 * the first read). The reader is cowherd's AoE initiator, {@value #RUN_BYTES} bytes per run in 128
 * KiB calls (one frame per 1 KiB at MTU 1500), best of {@value #RUNS} runs. Each arm: start the
 * reader's exporter, runs alone, start the idle exporters (other shelf), runs beside them, stop
 * them, runs alone again; ratio = beside / best alone of the same arm, and also beside / best alone
 * of the {@link Placement#SHARED} arm with the same count (today's placement, the figure the goal
 * compares with, but measured up to a minute earlier). Last, {@link #headToHead}: today's placement
 * alone in a second lab, alternating run by run with {@link Placement#MACVLAN} beside the largest
 * count, so load bursts from other work on the machine hit both alike. During the runs beside, each
 * arm records the idle vblades' CPU ({@code /proc/<pid>/stat} utime+stime) and
 * context switches ({@code /proc/<pid>/status}: an idle vblade that woke per frame would show one
 * per frame), softirq CPU ({@code /proc/stat}) and NET_RX softirqs ({@code /proc/softirqs}),
 * machine-wide (other work on the machine counts too: compare within one run), and the 1-minute
 * load average. With {@code -Dfanout.perf=<dir>} it also runs {@code perf record -a -g} during
 * the runs beside the largest count, one file per arm (read with {@code perf report -i}); perf
 * itself costs CPU during those runs only (seen: MACVLAN at 254 gave 0.78 with it, 0.94–1.02
 * without), so take ratios from a run without it.
 *
 * <p>Printed (lines starting {@code BENCHMARK}), not asserted. Run by name as root: {@code ./mvnw
 * -pl node-agent -am test -Dtest=IdleExporterFanOutBenchmark -Dtest.excludedGroups=
 * -Dsurefire.failIfNoSpecifiedTests=false} (about a minute).
 */
@Tag("host")
@Tag("benchmark")
class IdleExporterFanOutBenchmark {
  private static final int[] IDLE_COUNTS = {63, 254};
  private static final int FILE_BYTES = 64 << 20;
  private static final int RUN_BYTES = 32 << 20;
  private static final int READ_SECTORS = (128 << 10) / 512;
  private static final int RUNS = 5;
  private static final String NIC = "nic";
  private static final String TARGET_MACVLAN = "mvt";
  private static final AoeTarget TARGET = new AoeTarget(42, 0);
  /** The macvlan arm's reader target in the agent's head to head (beside {@link #TARGET} on the NIC). */
  private static final AoeTarget TARGET2 = new AoeTarget(42, 1);
  private static final int IDLE_SHELF = 43;

  /** Where the reader's exporter and the idle exporters bind. */
  enum Placement {
    /** Today's agent: every vblade on the NIC. */
    SHARED(false, false),
    /** One macvlan (own MAC) per exporter, the reader's included; nothing bound to the NIC. */
    MACVLAN(true, true),
    /** The idle exporters on their own macvlans, the reader's exporter on the NIC. */
    IDLE_ON_MACVLANS(false, true),
    /** The reader's exporter on a macvlan, the idle ones on the NIC: shows orig_dev delivery. */
    TARGET_ON_MACVLAN(true, false);

    final boolean targetOnMacvlan;
    final boolean idleOnMacvlans;

    Placement(boolean targetOnMacvlan, boolean idleOnMacvlans) {
      this.targetOnMacvlan = targetOnMacvlan;
      this.idleOnMacvlans = idleOnMacvlans;
    }

    boolean needsMacvlans() {
      return targetOnMacvlan || idleOnMacvlans;
    }
  }

  @TempDir Path tmp;

  @Test
  void oneReaderAloneAndBesideIdleExporters() throws Exception {
    HostTools.requireRoot();
    Vblade vblade = HostTools.requireVblade();
    HostTools.requireProgram("nsenter", "util-linux");
    String base = HostTools.uniqueIfaceName();
    String exporters = base + "-x";
    String client = base + "-c";
    Path disk = tmp.resolve("disk.img");
    byte[] data = new byte[FILE_BYTES];
    new Random(42).nextBytes(data);
    Files.write(disk, data);
    String perfDir = System.getProperty("fanout.perf");
    int maxIdle = Arrays.stream(IDLE_COUNTS).max().orElseThrow();
    List<Arm> results = new ArrayList<>();
    String headToHead;
    String plainExporters = base + "-px";
    String plainClient = base + "-pc";
    try {
      createLab(exporters, client);
      boolean macvlans = false;
      for (Placement placement : Placement.values()) {
        if (placement.needsMacvlans() && !macvlans) {
          createMacvlans(exporters, maxIdle); // after SHARED: its NIC carries no rx_handler
          macvlans = true;
        }
        for (int idle : IDLE_COUNTS) {
          String perf = perfDir != null && idle == maxIdle
              ? Path.of(perfDir, placement.name().toLowerCase(Locale.ROOT) + "-" + idle + ".data").toString() : null;
          // a new initiator per arm: it keeps the exporter MAC it found first (the arm before's)
          try (AoeInitiator reader = AoeInitiator.openInNamespace(client, "aoe0", InitiatorOptions.defaults())) {
            results.add(arm(vblade, exporters, reader, disk, placement, idle, perf));
          }
        }
      }
      createLab(plainExporters, plainClient);
      headToHead = headToHead(vblade, plainExporters, plainClient, exporters, client, disk, maxIdle);
    } finally {
      for (String netns : List.of(client, exporters, plainClient, plainExporters)) {
        if (Files.exists(Path.of("/run/netns", netns))) {
          HostTools.runQuietly("ip", "netns", "del", netns);
        }
      }
    }
    for (Arm arm : results) {
      double sharedAlone = results.stream().filter(a -> a.placement == Placement.SHARED && a.idle == arm.idle)
          .mapToDouble(Arm::bestAlone).findFirst().orElseThrow();
      System.out.printf(Locale.ROOT, "%s; beside / SHARED alone %.2f%n", arm.line, arm.beside / sharedAlone);
    }
    System.out.println(headToHead);
  }

  /**
   * The same figure through the agent's own start path: every exporter started by a {@link
   * VbladeSupervisor} from a target whose link {@link ExporterLinks#bindFor} chose, the links made by
   * {@link ExporterLinks} as the agent makes them, once with {@code shared} and once with {@code
   * macvlan}. The NIC is one end of a veth pair in this host's namespace (the supervisor, like the
   * agent, starts exporters in its own), the reader's end in namespace {@code <x>-ac}; both made and
   * deleted here. Each exporter serves a file of its own (the supervisor stops a second exporter of one
   * path). Per placement: the reader's exporter alone ({@value #RUNS} runs), then beside the largest
   * count of idle exporters; then, alternating run by run, today's placement alone against {@code
   * macvlan} beside them, so load bursts hit both alike. Printed as BENCHMARK lines.
   */
  @Test
  void theAgentsExportersOnTheirOwnLinksVersusAllOnTheNic() throws Exception {
    HostTools.requireRoot();
    Vblade vblade = HostTools.requireVblade();
    String nic = HostTools.uniqueIfaceName();
    String client = nic + "-ac";
    int idleCount = Arrays.stream(IDLE_COUNTS).max().orElseThrow();
    Path disk = tmp.resolve("disk.img");
    byte[] data = new byte[FILE_BYTES];
    new Random(42).nextBytes(data);
    Files.write(disk, data);
    List<Path> idleDisks = new ArrayList<>();
    for (int i = 0; i < idleCount; i++) {
      Path idle = tmp.resolve("idle-" + i + ".img");
      try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(idle.toFile(), "rw")) {
        f.setLength(1 << 20);
      }
      idleDisks.add(idle);
    }
    java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newScheduledThreadPool(2);
    Map<ExporterLinks.Placement, double[]> alone = new java.util.EnumMap<>(ExporterLinks.Placement.class);
    Map<ExporterLinks.Placement, double[]> beside = new java.util.EnumMap<>(ExporterLinks.Placement.class);
    String headToHead;
    try {
      HostTools.run("ip", "netns", "add", client);
      HostTools.run("ip", "link", "add", nic, "type", "veth", "peer", "name", "aoe0", "netns", client);
      HostTools.run("ip", "link", "set", nic, "up");
      HostTools.run("ip", "-n", client, "link", "set", "aoe0", "up");
      for (ExporterLinks.Placement placement : ExporterLinks.Placement.values()) {
        try (AgentExporters agent = new AgentExporters(vblade, scheduler, placement, nic);
            AoeInitiator reader = AoeInitiator.openInNamespace(client, "aoe0", InitiatorOptions.defaults())) {
          agent.start(TARGET.shelf(), TARGET.slot(), disk);
          awaitExporters(reader, 1);
          reader.discover(TARGET);
          readRun(reader);
          alone.put(placement, runs(reader));
          for (int i = 0; i < idleCount; i++) {
            agent.start(IDLE_SHELF, i, idleDisks.get(i));
          }
          awaitExporters(reader, idleCount + 1);
          reader.discover(TARGET);
          beside.put(placement, runs(reader));
        }
      }
      try (AgentExporters today = new AgentExporters(vblade, scheduler, ExporterLinks.Placement.SHARED, nic);
          AoeInitiator reader = AoeInitiator.openInNamespace(client, "aoe0", InitiatorOptions.defaults())) {
        today.start(TARGET.shelf(), TARGET.slot(), disk);
        awaitExporters(reader, 1);
        reader.discover(TARGET);
        double[] todayAlone = new double[2 * RUNS];
        double[] linksBeside = new double[2 * RUNS];
        // Alternating needs both at once: today's exporter on the NIC alone, then the macvlan arm on a
        // second target address with its idle exporters. One NIC cannot hold both placements of one
        // target, so the macvlan arm serves the reader's disk as TARGET2.
        try (AgentExporters links = new AgentExporters(vblade, scheduler, ExporterLinks.Placement.MACVLAN, nic)) {
          Path copy = tmp.resolve("disk-2.img");
          Files.copy(disk, copy);
          links.start(TARGET2.shelf(), TARGET2.slot(), copy);
          for (int i = 0; i < idleCount; i++) {
            links.start(IDLE_SHELF, i, idleDisks.get(i));
          }
          awaitExporters(reader, idleCount + 2);
          reader.discover(TARGET2);
          readRun(reader, TARGET2);
          for (int i = 0; i < 2 * RUNS; i++) {
            todayAlone[i] = Math.round(readRun(reader, TARGET) * 10) / 10.0;
            linksBeside[i] = Math.round(readRun(reader, TARGET2) * 10) / 10.0;
          }
        }
        headToHead = String.format(Locale.ROOT, "BENCHMARK fan-out agent head to head, alternating: today's reader (its"
                + " exporter on the NIC) %.1f MB/s (runs %s) vs macvlan links beside %d idle exporters on links %.1f"
                + " MB/s (runs %s): %.2f; load %s", best(todayAlone), Arrays.toString(todayAlone), idleCount,
            best(linksBeside), Arrays.toString(linksBeside), best(linksBeside) / best(todayAlone),
            Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
      }
    } finally {
      scheduler.shutdownNow();
      HostTools.runQuietly("ip", "netns", "del", client);
      if (Files.exists(Path.of("/sys/class/net", nic))) {
        HostTools.runQuietly("ip", "link", "del", nic);
      }
    }
    for (ExporterLinks.Placement placement : ExporterLinks.Placement.values()) {
      System.out.printf(Locale.ROOT, "BENCHMARK fan-out agent %-7s: alone %6.1f MB/s (runs %s); beside %d idle"
              + " exporters %6.1f MB/s (runs %s) = %.2f of alone%n", placement, best(alone.get(placement)),
          Arrays.toString(alone.get(placement)), idleCount, best(beside.get(placement)),
          Arrays.toString(beside.get(placement)), best(beside.get(placement)) / best(alone.get(placement)));
    }
    System.out.println(headToHead);
  }

  /**
   * Exporters started as the agent starts them: {@link VbladeSupervisor#ensure} with the agent's
   * segment scan, targets bound where {@link ExporterLinks#bindFor} says; closing stops every one
   * (and so deletes its link).
   */
  private static final class AgentExporters implements AutoCloseable {
    private final ExporterLinks links;
    private final VbladeSupervisor supervisor;
    private final String nic;
    private final Map<SlotId, Path> started = new java.util.LinkedHashMap<>();

    AgentExporters(Vblade vblade, java.util.concurrent.ScheduledExecutorService scheduler,
        ExporterLinks.Placement placement, String nic) {
      this.nic = nic;
      this.links = new ExporterLinks(placement, "c0:7d", Path.of("/sys"), new ExecCommandRunner(), "ip");
      this.supervisor = HostTools.hostSupervisor(vblade, scheduler, links);
    }

    void start(int shelf, int slot, Path file) {
      SlotId id = new SlotId("bench", "s" + shelf, slot);
      VbladeTarget target = new VbladeTarget(shelf, slot, nic, file, false, List.of(), links.bindFor(nic, shelf, slot));
      started.put(id, file);
      assertThat(supervisor.ensure(id, target, file.resolveSibling(file.getFileName() + ".log")).running())
          .as("exporter %s", target).isTrue();
    }

    @Override
    public void close() {
      started.forEach((id, file) -> supervisor.stop(id, List.of(file)));
      supervisor.close();
    }
  }

  /**
   * Namespaces {@code exporters} and {@code client} joined by a veth pair: {@link #NIC} in the
   * first, {@code aoe0} in the second, both up.
   */
  private static void createLab(String exporters, String client) {
    HostTools.run("ip", "netns", "add", exporters);
    HostTools.run("ip", "netns", "add", client);
    HostTools.run("ip", "-n", exporters, "link", "add", NIC, "type", "veth", "peer", "name", "aoe0", "netns", client);
    HostTools.run("ip", "-n", exporters, "link", "set", NIC, "up");
    HostTools.run("ip", "-n", client, "link", "set", "aoe0", "up");
  }

  /**
   * The goal's figure with the load drift of a shared machine cancelled: today's placement alone
   * (reader's exporter on the NIC of a second lab without macvlans) and {@link Placement#MACVLAN}
   * beside {@code idleCount} idle exporters (the first lab), runs alternating between the two, 2 ×
   * {@value #RUNS} each. Returns its BENCHMARK line: best of each, their ratio, and the median of
   * the ratios of the pairs run back to back.
   */
  private static String headToHead(Vblade vblade, String plainExporters, String plainClient, String exporters,
      String client, Path disk, int idleCount) throws Exception {
    List<Process> processes = new ArrayList<>();
    try (AoeInitiator today = AoeInitiator.openInNamespace(plainClient, "aoe0", InitiatorOptions.defaults());
        AoeInitiator macvlan = AoeInitiator.openInNamespace(client, "aoe0", InitiatorOptions.defaults())) {
      processes.add(start(plainExporters, vblade.argv(new VbladeTarget(TARGET.shelf(), TARGET.slot(), NIC, disk))));
      processes.add(start(exporters, vblade.argv(new VbladeTarget(TARGET.shelf(), TARGET.slot(), TARGET_MACVLAN, disk))));
      for (int i = 0; i < idleCount; i++) {
        processes.add(start(exporters, vblade.argv(new VbladeTarget(IDLE_SHELF, i, "mv" + i, disk))));
      }
      awaitExporters(today, 1);
      awaitExporters(macvlan, idleCount + 1);
      today.discover(TARGET);
      macvlan.discover(TARGET);
      readRun(today);
      readRun(macvlan);
      int rounds = 2 * RUNS;
      double[] alone = new double[rounds];
      double[] beside = new double[rounds];
      double[] ratios = new double[rounds];
      for (int i = 0; i < rounds; i++) {
        alone[i] = Math.round(readRun(today) * 10) / 10.0;
        beside[i] = Math.round(readRun(macvlan) * 10) / 10.0;
        ratios[i] = beside[i] / alone[i];
      }
      Arrays.sort(ratios);
      return String.format(Locale.ROOT, "BENCHMARK fan-out head to head, alternating: today's placement alone %.1f MB/s"
              + " (runs %s); MACVLAN beside %d idle exporters %.1f MB/s (runs %s); best / best = %.2f, median of pair"
              + " ratios %.2f; load %s",
          best(alone), Arrays.toString(alone), idleCount, best(beside), Arrays.toString(beside), best(beside) / best(alone),
          (ratios[rounds / 2 - 1] + ratios[rounds / 2]) / 2, Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    } finally {
      stopAll(processes);
    }
  }

  /** One arm's figures: MB/s best alone and best beside, and its BENCHMARK line (without the cross-arm ratio). */
  private record Arm(Placement placement, int idle, double bestAlone, double beside, String line) {}

  /** One arm. */
  private static Arm arm(Vblade vblade, String netns, AoeInitiator reader, Path disk, Placement placement, int idleCount,
      String perfFile) throws Exception {
    List<Process> idle = new ArrayList<>();
    Process target = start(netns, vblade.argv(new VbladeTarget(TARGET.shelf(), TARGET.slot(),
        placement.targetOnMacvlan ? TARGET_MACVLAN : NIC, disk)));
    try {
      awaitExporters(reader, 1);
      reader.discover(TARGET);
      readRun(reader); // warm: page cache, JIT, this exporter's first reads
      double[] alone = runs(reader);
      for (int i = 0; i < idleCount; i++) {
        idle.add(start(netns, vblade.argv(new VbladeTarget(IDLE_SHELF, i, placement.idleOnMacvlans ? "mv" + i : NIC, disk))));
      }
      awaitExporters(reader, idleCount + 1);
      reader.discover(TARGET);
      Process perf = perfFile == null ? null : new ProcessBuilder("perf", "record", "-a", "-g", "-o", perfFile)
          .redirectInput(Redirect.from(new File("/dev/null"))).redirectOutput(Redirect.DISCARD)
          .redirectError(Redirect.DISCARD).start();
      Counters before = Counters.read(idle);
      double[] beside = runs(reader);
      Counters during = Counters.read(idle).minus(before);
      if (perf != null) {
        perf.destroy(); // SIGTERM: perf record writes its file and exits
        if (!perf.waitFor(60, TimeUnit.SECONDS)) {
          perf.destroyForcibly();
        }
      }
      stopAll(idle);
      double[] again = runs(reader);
      double bestAlone = Math.max(best(alone), best(again));
      long frames = (long) RUNS * (RUN_BYTES / 1024);
      return new Arm(placement, idleCount, bestAlone, best(beside), String.format(Locale.ROOT, "BENCHMARK fan-out %-17s idle=%3d: alone %6.1f MB/s (runs %s, after %s); beside %6.1f"
              + " MB/s (runs %s) = %.2f of alone; idle vblades CPU %.2f s, ctx switches %d (%.3f per request); softirq"
              + " CPU %.2f s = %.1f us per request, NET_RX %d, all CPU %.2f s over %.1f s; load %s",
          placement, idleCount, bestAlone, Arrays.toString(alone), Arrays.toString(again), best(beside),
          Arrays.toString(beside), best(beside) / bestAlone, during.idleCpu, during.idleSwitches,
          (double) during.idleSwitches / frames, during.softirqSeconds, during.softirqSeconds * 1e6 / frames,
          during.netRx, during.busySeconds, during.wallSeconds, Files.readString(Path.of("/proc/loadavg")).split(" ")[0]));
    } finally {
      stopAll(idle);
      target.destroyForcibly().waitFor();
    }
  }

  /**
   * {@code count} macvlans {@code mv0..} (mode bridge, random MACs) and {@link #TARGET_MACVLAN} on
   * {@link #NIC} in {@code netns}, up; one {@code ip -batch} call. Deleted with the namespace.
   */
  private void createMacvlans(String netns, int count) throws IOException {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i <= count; i++) {
      String name = i == count ? TARGET_MACVLAN : "mv" + i;
      lines.add("link add " + name + " link " + NIC + " type macvlan mode bridge");
      lines.add("link set " + name + " up");
    }
    Path batch = tmp.resolve("macvlans.ip");
    Files.write(batch, lines);
    HostTools.run("ip", "-n", netns, "-batch", batch.toString());
  }

  private static void awaitExporters(AoeInitiator reader, int count) {
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(reader.discover(Duration.ofMillis(300)))
        .hasSize(count));
  }

  /** Starts {@code argv} in {@code netns} (nsenter execs it: the process is vblade itself). */
  private static Process start(String netns, List<String> argv) throws IOException {
    List<String> command = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + netns, "--"));
    command.addAll(argv);
    return new ProcessBuilder(command).redirectInput(Redirect.from(new File("/dev/null")))
        .redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD).start();
  }

  private static void stopAll(List<Process> processes) throws InterruptedException {
    for (Process p : processes) {
      p.destroyForcibly();
    }
    for (Process p : processes) {
      p.waitFor();
    }
    processes.clear();
  }

  private static double[] runs(AoeInitiator reader) throws IOException {
    double[] mbs = new double[RUNS];
    for (int i = 0; i < RUNS; i++) {
      mbs[i] = Math.round(readRun(reader) * 10) / 10.0;
    }
    return mbs;
  }

  /** Reads {@link #RUN_BYTES} from the start of {@link #TARGET}; MB/s (10^6 bytes/s). */
  private static double readRun(AoeInitiator reader) throws IOException {
    return readRun(reader, TARGET);
  }

  /** Reads {@link #RUN_BYTES} from the start of {@code target}; MB/s (10^6 bytes/s). */
  private static double readRun(AoeInitiator reader, AoeTarget target) throws IOException {
    long started = System.nanoTime();
    for (long lba = 0; lba < RUN_BYTES / 512; lba += READ_SECTORS) {
      reader.read(target, lba, READ_SECTORS);
    }
    return RUN_BYTES / ((System.nanoTime() - started) / 1e9) / 1e6;
  }

  private static double best(double[] mbs) {
    return Arrays.stream(mbs).max().orElseThrow();
  }

  /**
   * Counters sampled around the runs beside the idle exporters: their CPU (s) and context switches
   * (voluntary + involuntary), the machine's softirq and busy CPU (s, from {@code /proc/stat}'s
   * first line, USER_HZ = 100), NET_RX softirqs summed over CPUs, and wall time (s).
   */
  private record Counters(double idleCpu, long idleSwitches, double softirqSeconds, double busySeconds, long netRx,
      double wallSeconds) {
    static Counters read(List<Process> idle) throws IOException {
      double cpu = 0;
      long switches = 0;
      for (Process p : idle) {
        Path proc = Path.of("/proc", Long.toString(p.pid()));
        String stat = Files.readString(proc.resolve("stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        cpu += (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
        for (String line : Files.readAllLines(proc.resolve("status"))) {
          if (line.startsWith("voluntary_ctxt_switches:") || line.startsWith("nonvoluntary_ctxt_switches:")) {
            switches += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
          }
        }
      }
      String[] cpuLine = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      long softirq = Long.parseLong(cpuLine[7]);
      long busy = 0;
      for (int i = 1; i < cpuLine.length; i++) {
        if (i != 4 && i != 5 && i < 9) { // not idle, iowait; guest and guest_nice are inside user and nice
          busy += Long.parseLong(cpuLine[i]);
        }
      }
      long netRx = 0;
      for (String line : Files.readAllLines(Path.of("/proc/softirqs"))) {
        String[] s = line.trim().split("\\s+");
        if (s[0].equals("NET_RX:")) {
          for (int i = 1; i < s.length; i++) {
            netRx += Long.parseLong(s[i]);
          }
        }
      }
      return new Counters(cpu, switches, softirq / 100.0, busy / 100.0, netRx, System.nanoTime() / 1e9);
    }

    Counters minus(Counters o) {
      return new Counters(idleCpu - o.idleCpu, idleSwitches - o.idleSwitches, softirqSeconds - o.softirqSeconds,
          busySeconds - o.busySeconds, netRx - o.netRx, wallSeconds - o.wallSeconds);
    }
  }
}
