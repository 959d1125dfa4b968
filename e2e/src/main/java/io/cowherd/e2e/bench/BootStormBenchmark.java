package io.cowherd.e2e.bench;

import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.AoeTimeoutException;
import io.cowherd.aoe.initiator.InitiatorOptions;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.e2e.support.BootImage;
import io.cowherd.e2e.support.Commands;
import io.cowherd.e2e.support.Exporters;
import io.cowherd.e2e.support.Lab;
import io.cowherd.e2e.support.ProcStat;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Issue 11 goal 5 (first half), outside the test suite: N clients booting at once from one pool.
 * The {@link BootTrace} of one real client boot ({@link BootTraceCapture}) is replayed from N
 * concurrent initiators (cowherd's Java {@link AoeInitiator}, each on its own macvlan with its own
 * MAC in one client namespace of the lab segment), as fast as the targets answer and with the
 * trace's in-flight depth ({@link BootTrace#runs()}), against five arms on the same lab, one after
 * the other, each started cold:
 *
 * <ul>
 *   <li><b>cowherd</b>: a reflink pool of N slots on the lab's loop-mounted XFS (operator and agent
 *       JVMs, {@link Lab}), scaled 0→N and, after the replay, back to 0;
 *   <li><b>floor</b>: the seed recipe, per client {@code cp --reflink=always origin floor/i.img} and
 *       {@code vblade -s -- 8 i <nic> floor/i.img} (as in {@link ScaleBenchmark});
 *   <li><b>floor -d</b>: the same with vblade's {@code -d} (O_DIRECT on the file);
 *   <li><b>floor beside one cowherd slot</b>: the floor while the agent's NIC parts (guard table,
 *       ATA request watch) run on the same NIC;
 *   <li><b>floor setsid</b>: the floor with each exporter started through {@code setsid --fork}, in a
 *       session of its own, as the agent starts them.
 * </ul>
 *
 * <p>Cold without {@code drop_caches}: every arm serves fresh clones (new inodes), and before each
 * replay the page cache of files this benchmark made (the clones, the origin, the loop device's
 * backing file) is dropped with {@code dd iflag=nocache count=0} (posix_fadvise DONTNEED, coreutils
 * dd(1)). Page cache is read with util-linux {@code fincore} (resident bytes per file) after the
 * replay: the clones together, the origin, and the scratch filesystem's backing file (the layer
 * under the loop device, where shared extents are one range of the file).
 *
 * <p>Needs root. Run with {@code hack/bench-storm.sh}; prints one table (figure, cowherd, floor,
 * ratio, load average) and writes JSON.
 */
public final class BootStormBenchmark {
  private static final int IMAGE_MIB = 64;
  private static final int COWHERD_SHELF = 7;
  private static final int FLOOR_SHELF = 8;
  private static final String POOL = "storm";
  private static final String NS = "default";
  private static final Duration LIMIT = Duration.ofMinutes(10);
  private static final Duration DD_TIMEOUT = Duration.ofSeconds(60);

  private final Lab lab;
  private final BootTrace trace;
  private final List<BootTrace.Run> runs;
  private final String clientNs;
  private final List<AoeInitiator> initiators = new ArrayList<>();
  private final Path floorDir;
  /** Clients of the last {@link #replay} that gave up. */
  private int lastFailed;

  /** One arm's replay: wall time until every client finished, page cache after, load. */
  record Result(String arm, int clients, double seconds, double mbPerSecond, long clonesCachedBytes,
      long clonesCachedBefore, long originCachedBytes, long backingCachedBytes, long backingCachedBefore, long retransmissions, double load1,
      double agentCpu, double exportersCpu, long exporterReadCalls, long exporterWriteCalls, long exporterContextSwitches, int failedClients, int exportersAlive) {}

  private BootStormBenchmark(Lab lab, BootTrace trace, String clientNs, Path floorDir) {
    this.lab = lab;
    this.trace = trace;
    this.runs = trace.runs();
    this.clientNs = clientNs;
    this.floorDir = floorDir;
  }

  /**
   * {@code BootStormBenchmark [--clients 1,16,64] [--rounds 1] [--trace file] [--work dir] [--out json]}.
   *
   * @throws IllegalArgumentException on a bad option
   * @throws IllegalStateException when an arm does not come up or a replay fails
   */
  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i += 2) {
      if (i + 1 >= args.length || !args[i].startsWith("--")) {
        throw new IllegalArgumentException("usage: [--clients 1,16,64] [--rounds 1] [--trace f] [--work d] [--out f]");
      }
      opts.put(args[i], args[i + 1]);
    }
    List<Integer> sizes = Arrays.stream(opts.getOrDefault("--clients", "1,16,64").split(",")).map(Integer::parseInt)
        .toList();
    if (sizes.stream().anyMatch(n -> n < 1 || n > 255)) {
      throw new IllegalArgumentException("--clients must be between 1 and 255: " + sizes);
    }
    int rounds = Integer.parseInt(opts.getOrDefault("--rounds", "1"));
    BootTrace trace = opts.containsKey("--trace") ? BootTrace.load(Path.of(opts.get("--trace"))) : BootTrace.committed();
    Path work = Path.of(opts.getOrDefault("--work", "target/bench-storm")).toAbsolutePath();
    Path out = Path.of(opts.getOrDefault("--out", work.resolve("results.json").toString())).toAbsolutePath();
    System.out.printf(Locale.ROOT, "[storm] trace: %d requests, %d runs, %.2f MB read, %d B written, max in flight %d%n",
        trace.requests().size(), trace.runs().size(), trace.readBytes() / 1e6, trace.writeBytes(), trace.maxInFlight());
    Path image = BootImage.cached(Lab.findRepo(), IMAGE_MIB);
    // Room for every slot to rewrite its whole disk (the agent's admission rule), sparse.
    long scratchBytes = (sizes.stream().mapToLong(Integer::longValue).max().orElseThrow() + 8) * Files.size(image);
    try (Lab lab = Lab.startWithOrigin(work, image, Math.max(4L << 30, scratchBytes * 5 / 4))) {
      Path floorDir = lab.scratch().images().getParent().resolve("floor");
      Files.createDirectories(floorDir);
      String clientNs = lab.network().addClientNamespace();
      BootStormBenchmark bench = new BootStormBenchmark(lab, trace, clientNs, floorDir);
      try {
        bench.run(sizes, rounds, out);
      } finally {
        bench.initiators.forEach(AoeInitiator::close);
      }
    }
  }

  private void run(List<Integer> sizes, int rounds, Path out) throws Exception {
    lab.controlPlane().kubectlOk("apply", "-f", lab.writePoolYaml(POOL, COWHERD_SHELF, 0).toString());
    openInitiators(sizes.stream().mapToInt(Integer::intValue).max().orElseThrow());
    // The first replays run on a cold JVM (interpreted initiator): one discarded floor replay first.
    Result warm = floor(Math.min(16, initiators.size()), false);
    System.out.printf(Locale.ROOT, "[storm] warm-up (discarded): %d clients, floor %.2f s%n", warm.clients(), warm.seconds());
    List<Result> results = new ArrayList<>();
    for (int n : sizes) {
      for (int r = 0; r < rounds; r++) {
        List<String> order = r % 2 == 0 ? List.of("floor", "cowherd", "floor -d", "floor+agent", "floor setsid")
            : List.of("floor setsid", "floor+agent", "cowherd", "floor -d", "floor");
        for (String arm : order) {
          Result res = switch (arm) {
            case "cowherd" -> cowherd(n);
            case "floor+agent" -> floorBesideAgent(n);
            case "floor setsid" -> floor(n, false, arm, true);
            default -> floor(n, arm.equals("floor -d"));
          };
          results.add(res);
          System.out.printf(Locale.ROOT, "[storm] round %d, %d clients, %-8s %7.2f s, %7.1f MB/s, clones cache %6.1f MiB"
                  + " (before %.1f), origin %.1f MiB, backing file %.1f MiB (before %.1f), retransmissions %d, agent CPU %.2f s, exporters CPU %.2f s, exporters' read/write calls %d/%d, context switches %d,"
                  + " clients gave up %d, exporters alive %d, load %.2f%n", r + 1, n,
              arm, res.seconds(), res.mbPerSecond(), mib(res.clonesCachedBytes()), mib(res.clonesCachedBefore()),
              mib(res.originCachedBytes()), mib(res.backingCachedBytes()), mib(res.backingCachedBefore()), res.retransmissions(), res.agentCpu(), res.exportersCpu(), res.exporterReadCalls(), res.exporterWriteCalls(), res.exporterContextSwitches(), res.failedClients(), res.exportersAlive(), res.load1());
        }
      }
    }
    String table = table(sizes, results);
    System.out.println(table);
    Files.createDirectories(out.getParent());
    Files.writeString(out, json(results));
    System.out.println("[storm] results written to " + out);
  }

  // ---- initiators ------------------------------------------------------------------------

  /** One macvlan (own MAC {@code 02:cb:00:00:00:<i>}) on the client namespace's eth0 and one initiator on it, per client. */
  private void openInitiators(int n) throws IOException {
    // Linux's aoe driver keeps retransmitting for aoe_deadsecs (180 s) before it fails a device; the
    // initiator's default (5 retries of 500 ms) gives up after 3 s, too early on two loaded cores.
    InitiatorOptions options = InitiatorOptions.defaults().withMaxFramesInFlight(Math.max(1, trace.maxInFlight()))
        .withMaxRetries(60);
    for (int i = 0; i < n; i++) {
      String name = "mv" + i;
      Commands.run("ip", "-n", clientNs, "link", "add", "link", "eth0", "name", name, "address",
          String.format(Locale.ROOT, "02:cb:00:00:00:%02x", i), "type", "macvlan", "mode", "private");
      Commands.run("ip", "-n", clientNs, "link", "set", "dev", name, "up");
      initiators.add(AoeInitiator.openInNamespace(clientNs, name, options));
    }
  }

  /**
   * Replays the trace from client i to {@code targets.get(i)}, all clients released at once.
   *
   * A client whose target stops answering (no reply after every retransmission, about 30 s) gives
   * up and is counted in {@link #lastFailed}; the first failure is printed.
   *
   * @return seconds until the last client finished or gave up
   */
  private double replay(List<AoeTarget> targets) throws InterruptedException {
    int n = targets.size();
    long deadline = System.nanoTime() + LIMIT.toNanos();
    for (int i = 0; i < n; i++) {
      discover(initiators.get(i), targets.get(i), deadline);
    }
    CountDownLatch start = new CountDownLatch(1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    int maxSectors = runs.stream().mapToInt(BootTrace.Run::sectors).max().orElse(0);
    for (int i = 0; i < n; i++) {
      AoeInitiator initiator = initiators.get(i);
      AoeTarget target = targets.get(i);
      threads.add(Thread.ofPlatform().name("storm-client-" + i).start(() -> {
        byte[] buffer = new byte[maxSectors * 512];
        try {
          start.await();
          for (BootTrace.Run run : runs) {
            if (run.write()) {
              initiator.write(target, run.lba(), buffer, 0, run.sectors());
            } else {
              initiator.read(target, run.lba(), run.sectors(), buffer, 0);
            }
          }
        } catch (Throwable t) {
          failed.incrementAndGet();
          failure.compareAndSet(null, new IllegalStateException("client of " + target + " failed", t));
        }
      }));
    }
    long t0 = System.nanoTime();
    start.countDown();
    for (Thread t : threads) {
      t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
      if (t.isAlive()) {
        throw new IllegalStateException("replay did not finish within " + LIMIT);
      }
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    lastFailed = failed.get();
    if (failure.get() != null) {
      Throwable t = failure.get();
      System.out.printf("[storm] %d of %d clients gave up; first: %s: %s%n", lastFailed, n, t.getMessage(),
          t.getCause());
    }
    return seconds;
  }

  /** Query Config until the target answers (an exporter just started may not listen yet). */
  private static void discover(AoeInitiator initiator, AoeTarget target, long deadline) {
    while (true) {
      try {
        initiator.discover(target);
        return;
      } catch (AoeTimeoutException e) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(target + " does not answer", e);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private long retransmissions(int n) {
    return initiators.subList(0, n).stream().mapToLong(AoeInitiator::retransmissionCount).sum();
  }

  // ---- arms ------------------------------------------------------------------------------

  /**
   * The floor while one cowherd slot (shelf 7) is Serving on the same NIC: the agent's per-interface
   * data-path parts are then on (the nftables ingress guard table, the ATA I/O watch ring, the
   * control-frame watch socket), so this arm shows what they cost the floor's exporters.
   */
  private Result floorBesideAgent(int n) throws Exception {
    setReplicas(1);
    awaitServing(1);
    String table = "cowherd_" + lab.network().exporterInterface();
    boolean guard = Commands.exec(DD_TIMEOUT, List.of("nft", "list", "table", "netdev", table)).ok();
    System.out.printf("[storm] floor+agent: nft table netdev %s %s%n", table, guard ? "present" : "ABSENT");
    try {
      return floor(n, false, "floor+agent");
    } finally {
      setReplicas(0);
      awaitNoSlots();
    }
  }

  private List<Exporters.Exporter> awaitServing(int n) throws InterruptedException {
    long deadline = System.nanoTime() + LIMIT.toNanos();
    while (true) {
      List<Exporters.Exporter> exporters = exportersOfShelf(COWHERD_SHELF);
      List<AoeBootSlot> slots = slots();
      if (exporters.size() == n && slots.size() == n && slots.stream()
          .allMatch(s -> s.getStatus() != null && s.getStatus().getPhase() == SlotPhase.Serving)) {
        return exporters;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("cowherd: " + exporters.size() + " exporters, " + slots.size() + " slots after " + LIMIT);
      }
      Thread.sleep(100); // polling the API server and /proc for a condition
    }
  }

  /**
   * Waits until the agent and the operator each used under 5% of a core over one second (the
   * status writes, Events and first measurements after a bring-up are over; a storm hits a pool
   * whose slots were made beforehand), at most 60 s.
   *
   * @return seconds waited
   */
  private double awaitQuiet() throws InterruptedException {
    long t0 = System.nanoTime();
    long deadline = t0 + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      long agent = cpuTicks(List.of(lab.agent().pid()));
      long operator = cpuTicks(List.of(lab.operator().pid()));
      Thread.sleep(1000); // a measurement window
      if (cpuTicks(List.of(lab.agent().pid())) - agent < ProcStat.CLOCK_TICKS / 20
          && cpuTicks(List.of(lab.operator().pid())) - operator < ProcStat.CLOCK_TICKS / 20) {
        break;
      }
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  private void awaitNoSlots() throws InterruptedException {
    long deadline = System.nanoTime() + LIMIT.toNanos();
    while (!slots().isEmpty() || !exportersOfShelf(COWHERD_SHELF).isEmpty()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("cowherd →0: " + slots().size() + " slots left after " + LIMIT);
      }
      Thread.sleep(100); // polling for a condition
    }
  }

  private Result cowherd(int n) throws Exception {
    setReplicas(n);
    List<Exporters.Exporter> exporters = awaitServing(n);
    double settled = awaitQuiet();
    List<AoeTarget> targets = exporters.stream().sorted(Comparator.comparingInt(Exporters.Exporter::slot))
        .map(e -> new AoeTarget(e.shelf(), e.slot())).toList();
    List<Path> clones = exporters.stream().sorted(Comparator.comparingInt(Exporters.Exporter::slot))
        .map(e -> Path.of(e.path())).toList();
    Exporters.Exporter first = exporters.getFirst();
    System.out.printf("[storm] %d slots Serving; agent and operator quiet after %.1f s more; a cowherd exporter:"
        + " pid %d, %s%n", n, settled, first.pid(),
        Files.readString(Path.of("/proc", Long.toString(first.pid()), "cmdline")).replace('\0', ' ').strip());
    Result r = measure("cowherd", targets, clones, exporters.stream().map(Exporters.Exporter::pid).toList());
    setReplicas(0);
    awaitNoSlots();
    return r;
  }

  private Result floor(int n, boolean direct) throws Exception {
    return floor(n, direct, direct ? "floor -d" : "floor");
  }

  private Result floor(int n, boolean direct, String arm) throws Exception {
    return floor(n, direct, arm, false);
  }

  /**
   * The floor's N exporters; with {@code ownSession} each starts as the agent starts its exporters,
   * through {@code setsid --fork} (its own session, so, with the kernel's scheduler autogroups on,
   * its own scheduling group beside the benchmark's client threads), else as children of this JVM.
   */
  private Result floor(int n, boolean direct, String arm, boolean ownSession) throws Exception {
    String nic = lab.network().exporterInterface();
    List<ProcessHandle> vblades = new ArrayList<>();
    List<Path> clones = new ArrayList<>();
    List<AoeTarget> targets = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        Path copy = floorDir.resolve(i + ".img");
        Commands.run("cp", "--reflink=always", lab.originImage().toString(), copy.toString());
        clones.add(copy);
        List<String> argv = new ArrayList<>();
        if (ownSession) {
          argv.addAll(List.of("setsid", "--fork"));
        }
        argv.addAll(List.of("vblade", "-s"));
        if (direct) {
          argv.add("-d");
        }
        argv.addAll(List.of("--", Integer.toString(FLOOR_SHELF), Integer.toString(i), nic, copy.toString()));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
        if (!ownSession) {
          vblades.add(p.toHandle());
        } else if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
          throw new IllegalStateException("setsid --fork " + argv + " failed");
        }
        targets.add(new AoeTarget(FLOOR_SHELF, i));
      }
      if (ownSession) {
        long deadline = System.nanoTime() + LIMIT.toNanos();
        List<Exporters.Exporter> found;
        while ((found = exportersOfShelf(FLOOR_SHELF)).size() < n) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(arm + ": only " + found.size() + " exporters of " + n);
          }
          Thread.sleep(50); // polling /proc for the forked exporters
        }
        found.forEach(e -> ProcessHandle.of(e.pid()).ifPresent(vblades::add));
      }
      return measure(arm, targets, clones, vblades.stream().map(ProcessHandle::pid).toList());
    } finally {
      for (ProcessHandle p : vblades) {
        p.destroy();
      }
      for (ProcessHandle p : vblades) {
        p.onExit().orTimeout(60, TimeUnit.SECONDS).join();
      }
      for (Path c : clones) {
        Files.deleteIfExists(c);
      }
    }
  }


  private Result measure(String arm, List<AoeTarget> targets, List<Path> clones, List<Long> exporterPids)
      throws InterruptedException {
    int n = targets.size();
    List<Path> mine = new ArrayList<>(clones);
    mine.add(lab.originImage());
    mine.add(lab.scratch().backingFile());
    // Dirty pages cannot be dropped: write the scratch filesystem and then its backing file out first.
    Commands.run(DD_TIMEOUT, "sync", "-f", lab.originImage().toString());
    Commands.run(DD_TIMEOUT, "sync", lab.scratch().backingFile().toString());
    mine.forEach(BootStormBenchmark::dropCache);
    long before = cached(clones);
    long backingBefore = cached(List.of(lab.scratch().backingFile()));
    long retransmitted = retransmissions(n);
    long agentTicks = cpuTicks(List.of(lab.agent().pid()));
    long exporterTicks = cpuTicks(exporterPids);
    long[] io = ioCalls(exporterPids);
    Process perf = startPerf(arm, n, exporterPids);
    Map<String, Long> agentThreads = threadTicks(lab.agent().pid());
    double seconds = replay(targets);
    stopPerf(perf);
    // Per thread id (a thread born during the replay counts whole), then summed by thread name.
    Map<String, Long> byName = new java.util.TreeMap<>();
    threadTicks(lab.agent().pid()).forEach((key, ticks) -> byName.merge(key.substring(key.indexOf(' ') + 1),
        ticks - agentThreads.getOrDefault(key, 0L), Long::sum));
    System.out.println("[storm] " + arm + ", " + n + " clients: agent threads' CPU during the replay (10 ms ticks): "
        + byName.entrySet().stream().filter(e -> e.getValue() > 0)
            .sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(8).map(e -> e.getKey() + " " + e.getValue())
            .toList());
    double load = load1();
    double agentCpu = (cpuTicks(List.of(lab.agent().pid())) - agentTicks) / (double) ProcStat.CLOCK_TICKS;
    double exportersCpu = (cpuTicks(exporterPids) - exporterTicks) / (double) ProcStat.CLOCK_TICKS;
    long[] ioAfter = ioCalls(exporterPids);
    long bytes = (trace.readBytes() + trace.writeBytes()) * (n - lastFailed); // clients that finished
    return new Result(arm, n, seconds, bytes / 1e6 / seconds, cached(clones), before, cached(List.of(lab.originImage())),
        cached(List.of(lab.scratch().backingFile())), backingBefore, retransmissions(n) - retransmitted, load, agentCpu, exportersCpu,
        ioAfter[0] - io[0], ioAfter[1] - io[1], ioAfter[2] - io[2], lastFailed,
        (int) exporterPids.stream().filter(pid -> Files.exists(Path.of("/proc", Long.toString(pid)))).count());
  }

  private void setReplicas(int n) {
    lab.controlPlane().client().resources(AoeBootPool.class).inNamespace(NS).withName(POOL)
        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"replicas\":" + n + "}}");
  }

  private List<AoeBootSlot> slots() {
    return lab.controlPlane().client().resources(AoeBootSlot.class).inNamespace(NS).list().getItems();
  }

  private List<Exporters.Exporter> exportersOfShelf(int shelf) {
    return Exporters.on(lab.network().exporterInterface()).stream().filter(e -> e.shelf() == shelf).toList();
  }

  // ---- page cache ------------------------------------------------------------------------

  /**
   * Drops the page cache of {@code file} (a file this benchmark made): coreutils dd(1), "Request
   * to drop cache for the whole file: dd if=ifile iflag=nocache count=0" (posix_fadvise DONTNEED).
   */
  private static void dropCache(Path file) {
    Commands.run(DD_TIMEOUT, "dd", "if=" + file, "iflag=nocache", "count=0", "status=none");
  }

  /** Bytes of {@code files} resident in the page cache (util-linux fincore, column RES), summed. */
  private static long cached(List<Path> files) {
    long sum = 0;
    for (int i = 0; i < files.size(); i += 64) {
      List<String> argv = new ArrayList<>(List.of("fincore", "--bytes", "--noheadings", "--raw", "--output", "RES"));
      files.subList(i, Math.min(files.size(), i + 64)).forEach(f -> argv.add(f.toString()));
      for (String line : Commands.run(DD_TIMEOUT, argv.toArray(String[]::new)).split("\n")) {
        if (!line.isBlank()) {
          sum += Long.parseLong(line.strip());
        }
      }
    }
    return sum;
  }

  /**
   * With {@code -Dcowherd.storm.perf=true}: {@code perf record -e cpu-clock -g} of the arm's
   * exporters during the replay, into {@code <work>/perf-<arm>-<n>.data}; else nothing.
   */
  private Process startPerf(String arm, int n, List<Long> pids) {
    if (!Boolean.getBoolean("cowherd.storm.perf") || pids.isEmpty()) {
      return null;
    }
    Path data = floorDir.getParent().getParent().resolve("perf-" + arm.replace(' ', '_') + "-" + n + ".data");
    List<String> argv = new ArrayList<>(List.of("perf", "record", "-q", "-e", "cpu-clock", "-g", "-o", data.toString(), "-p",
        String.join(",", pids.stream().map(String::valueOf).toList())));
    try {
      Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      Thread.sleep(500); // perf attaches; a start-up allowance for a diagnostic, not a measured wait
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void stopPerf(Process perf) {
    if (perf == null) {
      return;
    }
    perf.destroy(); // SIGTERM: perf writes its data and exits
    perf.onExit().orTimeout(60, TimeUnit.SECONDS).join();
  }

  /**
   * User plus system CPU of {@code pids} in clock ticks ({@code /proc/<pid>/stat} fields 14 and 15,
   * proc(5)); a pid gone counts 0.
   */
  private static long cpuTicks(List<Long> pids) {
    long sum = 0;
    for (long pid : pids) {
      try {
        sum += ProcStat.of(pid).ownTicks();
      } catch (IOException e) {
        // exited
      }
    }
    return sum;
  }

  /** CPU ticks (user + system) per thread of process {@code pid}, keyed {@code "<tid> <name>"}. */
  private static Map<String, Long> threadTicks(long pid) {
    Map<String, Long> ticks = new java.util.TreeMap<>();
    try {
      ProcStat.threads(pid).forEach((tid, t) -> ticks.merge(tid + " " + t.name(), t.ownTicks(), Long::sum));
    } catch (IOException e) {
      // process ended
    }
    return ticks;
  }

  /**
   * Read-like and write-like system calls of {@code pids} ({@code /proc/<pid>/io} syscr and syscw,
   * proc(5)): vblade reads frames with read(2) and the disk with pread(2), answers with write(2);
   * third, their context switches, voluntary and not ({@code /proc/<pid>/status}).
   */
  private static long[] ioCalls(List<Long> pids) {
    long[] sum = new long[3];
    for (long pid : pids) {
      try {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "io"))) {
          if (line.startsWith("syscr:")) {
            sum[0] += Long.parseLong(line.substring(6).strip());
          } else if (line.startsWith("syscw:")) {
            sum[1] += Long.parseLong(line.substring(6).strip());
          }
        }
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
          if (line.startsWith("voluntary_ctxt_switches:") || line.startsWith("nonvoluntary_ctxt_switches:")) {
            sum[2] += Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
          }
        }
      } catch (IOException e) {
        // exited
      }
    }
    return sum;
  }

  private static double load1() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static double mib(long bytes) {
    return bytes / (1024.0 * 1024.0);
  }

  // ---- report ----------------------------------------------------------------------------

  private String table(List<Integer> sizes, List<Result> results) {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "%nboot storm: one recorded boot (%d requests, %.2f MB read, max %d in flight)"
        + " replayed by N clients at once; cowherd vs floor (plain vblade -s on cp --reflink copies), medians%n",
        trace.requests().size(), trace.readBytes() / 1e6, trace.maxInFlight()));
    b.append(String.format(Locale.ROOT, "%-58s %10s %10s %7s %12s%n", "figure", "cowherd", "floor", "ratio", "load avg 1m"));
    for (int n : sizes) {
      List<Result> c = of(results, "cowherd", n);
      List<Result> f = of(results, "floor", n);
      List<Result> d = of(results, "floor -d", n);
      row(b, n + " clients: time until all finish (s)", c, f, Result::seconds);
      row(b, n + " clients: aggregate MB/s", c, f, Result::mbPerSecond);
      row(b, n + " clients: clients that gave up (no reply for 30 s)", c, f, Result::failedClients);
      row(b, n + " clients: retransmitted frames", c, f, Result::retransmissions);
      row(b, n + " clients: exporters' CPU during the replay (s)", c, f, Result::exportersCpu);
      row(b, n + " clients: exporters' read calls (frames + preads), thousands", c, f, r -> r.exporterReadCalls() / 1e3);
      row(b, n + " clients: exporters' context switches, thousands", c, f, r -> r.exporterContextSwitches() / 1e3);
      row(b, n + " clients: agent CPU during the replay (s)", c, f, Result::agentCpu);
      row(b, n + " clients: clones' page cache after (MiB)", c, f, r -> mib(r.clonesCachedBytes()));
      row(b, n + " clients: backing file's page cache after (MiB)", c, f, r -> mib(r.backingCachedBytes()));
      List<Result> g = of(results, "floor+agent", n);
      row(b, n + " clients, floor beside a cowherd slot vs floor: time (s)", g, f, Result::seconds);
      row(b, n + " clients, floor beside a cowherd slot vs floor: exporters CPU", g, f, Result::exportersCpu);
      List<Result> o = of(results, "floor setsid", n);
      row(b, n + " clients, floor with exporters in own sessions vs floor: time (s)", o, f, Result::seconds);
      row(b, n + " clients, floor with exporters in own sessions vs floor: exporters CPU", o, f, Result::exportersCpu);
      row(b, n + " clients, cowherd vs floor with exporters in own sessions: time (s)", c, o, Result::seconds);
      row(b, n + " clients, floor -d vs floor: time (s)", d, f, Result::seconds);
      row(b, n + " clients, floor -d vs floor: clones' page cache (MiB)", d, f, r -> mib(r.clonesCachedBytes()));
      row(b, n + " clients, floor -d vs floor: backing file cache (MiB)", d, f, r -> mib(r.backingCachedBytes()));
    }
    b.append(String.format(Locale.ROOT, "one client's boot reads %.1f MiB of distinct sectors%n",
        trace.distinctSectorsRead() * 512 / (1024.0 * 1024.0)));
    return b.toString();
  }

  private static List<Result> of(List<Result> results, String arm, int n) {
    return results.stream().filter(r -> r.arm().equals(arm) && r.clients() == n).toList();
  }

  private static void row(StringBuilder b, String name, List<Result> a, List<Result> f,
      java.util.function.ToDoubleFunction<Result> value) {
    double x = median(a.stream().mapToDouble(value).toArray());
    double y = median(f.stream().mapToDouble(value).toArray());
    List<Result> both = new ArrayList<>(a);
    both.addAll(f);
    b.append(String.format(Locale.ROOT, "%-58s %10.2f %10.2f %6.2f× %6.2f–%.2f%n", name, x, y, y == 0 ? Double.NaN : x / y,
        both.stream().mapToDouble(Result::load1).min().orElse(0), both.stream().mapToDouble(Result::load1).max().orElse(0)));
  }

  private static double median(double[] v) {
    if (v.length == 0) {
      return Double.NaN;
    }
    double[] s = v.clone();
    Arrays.sort(s);
    int m = s.length / 2;
    return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
  }

  private static String json(List<Result> results) {
    StringBuilder b = new StringBuilder("[\n");
    for (int i = 0; i < results.size(); i++) {
      Result r = results.get(i);
      b.append(String.format(Locale.ROOT, "  {\"arm\": \"%s\", \"clients\": %d, \"seconds\": %.3f, \"mbPerSecond\": %.1f,"
              + " \"clonesCachedBytes\": %d, \"clonesCachedBytesBefore\": %d, \"originCachedBytes\": %d,"
              + " \"backingFileCachedBytes\": %d, \"backingFileCachedBytesBefore\": %d, \"retransmissions\": %d, \"load1\": %.2f,"
              + " \"agentCpuSeconds\": %.2f, \"exportersCpuSeconds\": %.2f, \"exporterReadCalls\": %d,"
              + " \"exporterWriteCalls\": %d, \"exporterContextSwitches\": %d, \"failedClients\": %d, \"exportersAlive\": %d}%s%n",
          r.arm(), r.clients(), r.seconds(), r.mbPerSecond(), r.clonesCachedBytes(), r.clonesCachedBefore(),
          r.originCachedBytes(), r.backingCachedBytes(), r.backingCachedBefore(), r.retransmissions(), r.load1(), r.agentCpu(), r.exportersCpu(), r.exporterReadCalls(), r.exporterWriteCalls(),
          r.exporterContextSwitches(), r.failedClients(), r.exportersAlive(), i + 1 < results.size() ? "," : ""));
    }
    return b.append("]\n").toString();
  }
}
