package io.cowherd.e2e.bench;

import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.DiscoveredTarget;
import io.cowherd.aoe.initiator.InitiatorOptions;
import io.cowherd.e2e.support.Exporters;
import io.cowherd.e2e.support.Lab;
import io.cowherd.e2e.support.ProcStat;
import io.cowherd.e2e.support.ManagedProcess;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Bring-up and teardown of cowherd against its floor, interleaved in one run on one lab (issue 11).
 *
 * <p>cowherd: a reflink pool on the lab's loop-mounted XFS is scaled 0→N with a merge patch of
 * {@code spec.replicas}; the clock stops when every slot reports {@code Serving} and every target
 * {@code e7.0…e7.(N-1)} has answered a broadcast Query Config from cowherd's own initiator in a
 * client namespace on the lab's bridge. Then N→0 until no slot object and no exporter of the pool
 * is left.
 *
 * <p>Floor: the seed recipe's operations by hand on the same filesystem, NIC and initiator, one
 * slot after the other: {@code cp --reflink=always origin floor/i.img} then {@code vblade -s -- 9
 * i NIC floor/i.img &} (the agent's options, so durable writes cost both sides the same), until
 * every {@code e9.i} answers; teardown: SIGTERM and {@code rm} per slot, until every vblade has
 * exited.
 *
 * <p>Each cowherd run also prints its timeline: when the first slot, a quarter, half and all of them
 * were created, {@code Serving} and answering (up), or marked for deletion, without exporter and gone
 * (down). Before the first measurement the benchmark waits for the agent's first heartbeat renewal:
 * the operator places slots only on a node whose agent it saw renew, so the first bring-up would
 * otherwise time that (up to 10 s) instead of the bring-up.
 *
 * <p>Each round measures floor and cowherd back to back, alternating which goes first. Prints one
 * table (medians over rounds; the 1-minute load average read at the end of each measurement) and
 * writes it as JSON. Also reports the CPU seconds the agent and the operator used during each
 * cowherd measurement, and samples RSS and thread count of both JVMs at 0 and N Serving slots.
 * Needs root (see {@link Lab}).
 *
 * <p>Idle cost (issue 11, goal 4): in the last round, with N slots Serving, after {@code --settle}
 * seconds the benchmark measures over {@code --idle} seconds the CPU seconds of the agent and the
 * operator and every write request the API server served, by resource ({@link ApiWrites}: its own
 * {@code apiserver_request_total}, so no-op patches count too). The benchmark itself writes nothing
 * in that window. The floor of both is zero (idle vblade processes use no CPU and write nothing).
 *
 * <p>The API server's own ceiling (issue 11, goal 1: "if the API server's write rate makes that
 * impossible, measure that ceiling in the same run"): after each side pair, the same number of
 * writes cowherd needs per slot (3 up, 4 down), on ConfigMaps, with the operator's bound of requests
 * in flight ({@link #apiAlone}).
 *
 * <p>Arguments: {@code --slots 64[,255]} {@code --rounds 3} {@code --idle 60} {@code --settle 70} {@code --aot-dir DIR}
 * {@code --pools 50} (0: none; see {@link #acrossPools}) {@code --restart yes|no} (the agent restart figures, in the last round),
 * {@code --out target/bench/results.json} {@code --work target/bench}.
 */
public final class ScaleBenchmark {
  private static final String NS = "default";
  private static final String POOL = "bench";
  private static final int COWHERD_SHELF = 7;
  private static final int FLOOR_SHELF = 9;
  private static final Duration LIMIT = Duration.ofMinutes(5);
  private static final String CEILING_NS = "bench-api-ceiling";
  /** Requests in flight for the API server's ceiling: the operator's bound on slot writes. */
  private static final int CEILING_IN_FLIGHT = 16;
  /**
   * Writes per slot of a bring-up: slot create (with the agent's finalizer on it), its status write.
   */
  private static final int CEILING_WRITES_UP = 2;
  /**
   * Writes per slot of a teardown: reclaim mark, delete, finalizer removal ({@code Terminating} is
   * written only for a teardown longer than the agent's {@code SlotReconciler.TERMINATING_AFTER}).
   */
  private static final int CEILING_WRITES_DOWN = 3;

  private final Lab lab;
  private final AoeInitiator client;
  private final Path floorDir;
  private final List<Process> floorExporters = new ArrayList<>();
  /** Where the agent's JDK AOT cache is trained and kept ({@code --aot-dir}); null: plain JVM restarts only. */
  private final Path aotDir;

  private ScaleBenchmark(Lab lab, AoeInitiator client, Path floorDir, Path aotDir) {
    this.aotDir = aotDir;
    this.lab = lab;
    this.client = client;
    this.floorDir = floorDir;
  }

  /**
   * One measured figure: seconds per round for cowherd and the floor, load averages seen, and CPU
   * seconds (user + system) the agent and the operator used during each cowherd measurement.
   */
  private record Figure(String name, List<Double> cowherd, List<Double> floor, List<Double> load,
      List<Double> agentCpu, List<Double> operatorCpu, Map<String, Long> lastWrites, List<Double> api) {
    Figure(String name) {
      this(name, new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(),
          new TreeMap<>(), new ArrayList<>());
    }

    /** API write requests by resource during the last round's cowherd measurement. */
    void writes(Map<String, Long> writes) {
      lastWrites.clear();
      lastWrites.putAll(writes);
    }
  }

  /**
   * Steady state at {@code slots} Serving slots over {@code seconds}: CPU seconds of agent and
   * operator, API write requests by resource, and the 1-minute load average at the end.
   */
  private record Idle(int slots, double seconds, double agentCpu, double operatorCpu, Map<String, Long> writes,
      double load) {
    /** Writes per minute to pools, slots and Events (goal: 0); leases are heartbeats, counted apart. */
    double objectWritesPerMinute() {
      return perMinute(writes.entrySet().stream().filter(e -> !e.getKey().startsWith("leases"))
          .mapToLong(Map.Entry::getValue).sum());
    }

    double leaseWritesPerMinute() {
      return perMinute(writes.entrySet().stream().filter(e -> e.getKey().startsWith("leases"))
          .mapToLong(Map.Entry::getValue).sum());
    }

    double perMinute(long n) {
      return n * 60.0 / seconds;
    }

    double agentPercent() {
      return 100 * agentCpu / seconds;
    }
  }

  /**
   * One agent restart with {@code slots} Serving (issue 11, goal 3): {@code jvm} names how the new
   * agent JVM ran; {@code seconds} from its process start until it had adopted every exporter
   * (its log's "adopted running exporter" lines), {@code controllerSeconds} until its slot
   * controller started; exporters restarted (pids before vs after); API writes by resource from the
   * kill until {@link #AFTER_ADOPTION} after the last adoption (goal: no status writes).
   */
  private record Restart(int slots, String jvm, double seconds, double controllerSeconds, int exportersRestarted,
      Map<String, Long> writes, double load) {
    /** Writes to slot status and slots (goal 0); leases (the new agent's heartbeat) and Events are counted apart. */
    long slotWrites() {
      return writes.entrySet().stream().filter(e -> e.getKey().startsWith("aoebootslots"))
          .mapToLong(Map.Entry::getValue).sum();
    }
  }

  /** How long after the last adoption API writes are still counted (status patches and Events land late). */
  private static final Duration AFTER_ADOPTION = Duration.ofSeconds(10);
  private static final String ADOPTED_LINE = "adopted running exporter pid";

  /** A process sample: resident set in KiB and thread count, from {@code /proc/<pid>/status}. */
  private record ProcSample(String who, int slots, long rssKiB, int threads) {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = parse(args);
    List<Integer> sizes = Arrays.stream(opts.getOrDefault("--slots", "64").split(",")).map(Integer::parseInt).toList();
    int rounds = Integer.parseInt(opts.getOrDefault("--rounds", "3"));
    int idleSeconds = Integer.parseInt(opts.getOrDefault("--idle", "60"));
    int settleSeconds = Integer.parseInt(opts.getOrDefault("--settle", "70"));
    int pools = Integer.parseInt(opts.getOrDefault("--pools", "50"));
    boolean restart = switch (opts.getOrDefault("--restart", "yes")) {
      case "yes" -> true;
      case "no" -> false;
      default -> throw new IllegalArgumentException("--restart must be yes or no");
    };
    Path aotDir = opts.containsKey("--aot-dir") ? Path.of(opts.get("--aot-dir")).toAbsolutePath() : null;
    Path out = Path.of(opts.getOrDefault("--out", "target/bench/results.json")).toAbsolutePath();
    Path work = Path.of(opts.getOrDefault("--work", "target/bench")).toAbsolutePath();
    if (sizes.stream().anyMatch(n -> n < 1 || n > 255)) {
      throw new IllegalArgumentException("--slots must be between 1 and 255: " + sizes);
    }
    // An 8 MiB origin: the agent admits a reflink slot only while the state dir's filesystem could
    // hold a full copy, and 255 slots must fit the lab's 4 GiB scratch filesystem.
    try (Lab lab = Lab.start(work, 8);
        AoeInitiator client = AoeInitiator.openInNamespace(lab.network().addClientNamespace(), "eth0",
            InitiatorOptions.defaults())) {
      Path floorDir = lab.scratch().images().getParent().resolve("floor");
      Files.createDirectories(floorDir);
      new ScaleBenchmark(lab, client, floorDir, aotDir).run(sizes, rounds, idleSeconds, settleSeconds, restart, pools, out);
    }
  }

  private void run(List<Integer> sizes, int rounds, int idleSeconds, int settleSeconds, boolean restart, int pools,
      Path out)
      throws Exception {
    lab.controlPlane().kubectlOk("apply", "-f", lab.writePoolYaml(POOL, COWHERD_SHELF, 0).toString());
    awaitPoolObserved();
    awaitAgentRenewal();
    List<Figure> figures = new ArrayList<>();
    List<ProcSample> procs = new ArrayList<>();
    List<Idle> idles = new ArrayList<>();
    List<Restart> restarts = new ArrayList<>();
    sampleProcs(procs, 0);
    for (int n : sizes) {
      Figure up = new Figure("scale 0→" + n + " until all Serving and answering");
      Figure down = new Figure("scale " + n + "→0 until no slot and no exporter");
      figures.add(up);
      figures.add(down);
      for (int r = 0; r < rounds; r++) {
        boolean floorFirst = r % 2 == 0;
        for (int side = 0; side < 2; side++) {
          if ((side == 0) == floorFirst) {
            up.floor().add(floorUp(n));
          } else {
            double[] cpu = cpuSeconds();
            Map<String, Long> writes = ApiWrites.read(lab.controlPlane());
            up.cowherd().add(cowherdUp(n));
            addCpu(up, cpu);
            up.writes(ApiWrites.delta(writes, ApiWrites.read(lab.controlPlane())));
            if (r == 0) {
              sampleProcs(procs, n);
            }
          }
          up.load().add(load1());
        }
        up.api().add(apiAlone(n, CEILING_WRITES_UP, false));
        System.out.printf("[bench] round %d, %d slots up: cowherd %.2f s, floor %.2f s, API server alone %.2f s%n", r + 1,
            n, up.cowherd().getLast(), up.floor().getLast(), up.api().getLast());
        if (r == rounds - 1 && idleSeconds > 0) {
          Idle idle = idle(n, settleSeconds, idleSeconds);
          idles.add(idle);
          System.out.printf("[bench] idle at %d slots over %d s: agent %.2f s CPU (%.2f%% of a core), operator %.2f s;"
              + " writes %s%n", n, idleSeconds, idle.agentCpu(), idle.agentPercent(), idle.operatorCpu(), idle.writes());
          sampleProcs(procs, n, " (after the idle period)");
        }
        if (r == rounds - 1 && restart) {
          restarts.addAll(restarts(n));
          // The agent image's configuration when --aot-dir is given: its last restart mapped the AOT cache.
          sampleProcs(procs, n, aotDir != null ? " (agent restarted with the AOT cache)" : " (agent restarted, plain JVM)");
          if (aotDir != null && idleSeconds > 0) {
            // Steady state as the image runs: the AOT-cache agent after the same quiet period as above
            // (settle + idle), which is when it gives back the heap of the adoption burst (HeapTrim).
            Thread.sleep(Duration.ofSeconds(settleSeconds + idleSeconds).toMillis());
            sampleProcs(procs, n, " (AOT cache, after the idle period)");
          }
        }
        for (int side = 0; side < 2; side++) {
          if ((side == 0) == floorFirst) {
            down.floor().add(floorDown(n));
          } else {
            double[] cpu = cpuSeconds();
            Map<String, Long> writes = ApiWrites.read(lab.controlPlane());
            down.cowherd().add(cowherdDown());
            addCpu(down, cpu);
            down.writes(ApiWrites.delta(writes, ApiWrites.read(lab.controlPlane())));
          }
          down.load().add(load1());
        }
        down.api().add(apiAlone(n, CEILING_WRITES_DOWN, true));
        System.out.printf("[bench] round %d, %d slots down: cowherd %.2f s, floor %.2f s, API server alone %.2f s%n",
            r + 1, n, down.cowherd().getLast(), down.floor().getLast(), down.api().getLast());
      }
    }
    if (pools > 0) {
      acrossPools(sizes.getLast(), pools, procs);
    }
    sampleProcs(procs, 0);
    String table = table(figures, idles, restarts, procs, rounds);
    System.out.println(table);
    Files.createDirectories(out.getParent());
    Files.writeString(out, json(figures, idles, restarts, procs, rounds));
    System.out.println("[bench] results written to " + out);
  }

  // ---- cowherd ----------------------------------------------------------------------------

  private double cowherdUp(int n) throws IOException {
    long t0 = System.nanoTime();
    setReplicas(n);
    Set<Integer> answered = new HashSet<>();
    boolean serving = false;
    long deadline = t0 + LIMIT.toNanos();
    Timeline timeline = new Timeline(t0);
    while (!(serving && answered.size() == n)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("cowherd 0→" + n + ": " + answered.size() + " answering, serving=" + serving
            + " after " + LIMIT);
      }
      collectAnswers(COWHERD_SHELF, answered);
      timeline.reached("answering", answered.size(), n);
      if (!serving) {
        List<AoeBootSlot> slots = slots();
        long servingNow = slots.stream()
            .filter(s -> s.getStatus() != null && s.getStatus().getPhase() == SlotPhase.Serving).count();
        timeline.reached("slot objects", slots.size(), n);
        timeline.reached("Serving", servingNow, n);
        serving = slots.size() == n && servingNow == n;
      }
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf("[bench] cowherd 0→%d timeline: %s%n", n, timeline);
    return seconds;
  }

  private double cowherdDown() throws InterruptedException {
    long t0 = System.nanoTime();
    int n = slots().size();
    setReplicas(0);
    long deadline = t0 + LIMIT.toNanos();
    Timeline timeline = new Timeline(t0);
    while (true) {
      List<AoeBootSlot> slots = slots();
      int exporters = exportersOfShelf(COWHERD_SHELF).size();
      timeline.reached("slots marked for deletion", slots.stream()
          .filter(s -> s.getMetadata().getDeletionTimestamp() != null).count() + n - slots.size(), n);
      timeline.reached("exporters gone", n - exporters, n);
      timeline.reached("slot objects gone", n - slots.size(), n);
      if (slots.isEmpty() && exporters == 0) {
        break;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("cowherd →0: " + slots.size() + " slots left after " + LIMIT);
      }
      Thread.sleep(20);
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf("[bench] cowherd %d→0 timeline: %s%n", n, timeline);
    return seconds;
  }

  /**
   * When a count first reached 1, a quarter, half and all of {@code n} (seconds since {@code t0}):
   * where a bring-up or teardown spends its time, printed beside the figure (diagnostics only).
   */
  private static final class Timeline {
    private final long t0;
    private final Map<String, TreeMap<Long, Double>> marks = new LinkedHashMap<>();

    Timeline(long t0) {
      this.t0 = t0;
    }

    void reached(String what, long count, long n) {
      TreeMap<Long, Double> seen = marks.computeIfAbsent(what, k -> new TreeMap<>());
      double at = (System.nanoTime() - t0) / 1e9;
      for (long step : new long[] {1, Math.max(1, n / 4), Math.max(1, n / 2), n}) {
        if (count >= step) {
          seen.putIfAbsent(step, at);
        }
      }
    }

    @Override
    public String toString() {
      StringBuilder b = new StringBuilder();
      marks.forEach((what, seen) -> {
        b.append(b.isEmpty() ? "" : "; ").append(what).append(':');
        seen.forEach((count, at) -> b.append(String.format(Locale.ROOT, " %d@%.2fs", count, at)));
      });
      return b.toString();
    }
  }

  private void setReplicas(int n) {
    lab.controlPlane().client().resources(AoeBootPool.class).inNamespace(NS).withName(POOL)
        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"replicas\":" + n + "}}");
  }

  private void awaitPoolObserved() throws InterruptedException {
    long deadline = System.nanoTime() + LIMIT.toNanos();
    while (true) {
      AoeBootPool pool = lab.controlPlane().client().resources(AoeBootPool.class).inNamespace(NS).withName(POOL).get();
      if (pool != null && pool.getStatus() != null && pool.getStatus().getObservedGeneration() != null
          && pool.getStatus().getObservedGeneration() >= pool.getMetadata().getGeneration()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the operator did not observe pool " + POOL);
      }
      Thread.sleep(100);
    }
  }

  /**
   * Waits until the node agent's heartbeat Lease has been renewed once since the lab started: the
   * operator places slots only on a node whose agent it saw renew (AgentHeartbeats), so a
   * measurement started earlier would time the agent's first renewal (up to 10 s), not the
   * bring-up. In a cluster the agent has long been running when a pool is scaled.
   */
  private void awaitAgentRenewal() throws InterruptedException {
    var lease = lab.controlPlane().client().resources(Lease.class).inNamespace(Lab.LEASE_NAMESPACE)
        .withName(Names.agentLeaseName(Lab.NODE));
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    String first = null;
    while (true) {
      Lease l = lease.get();
      String renewed = l == null || l.getSpec() == null || l.getSpec().getRenewTime() == null ? null
          : l.getSpec().getRenewTime().toString();
      if (first == null) {
        first = renewed;
      } else if (renewed != null && !renewed.equals(first)) {
        Thread.sleep(200); // the operator's Lease informer gets the same update: a margin, not a condition
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the node agent did not renew its heartbeat Lease within 60 s");
      }
      Thread.sleep(100);
    }
  }

  private List<AoeBootSlot> slots() {
    return lab.controlPlane().client().resources(AoeBootSlot.class).inNamespace(NS).list().getItems();
  }

  /**
   * Waits {@code settleSeconds} (status, Events and pool status of the bring-up land, and the first
   * periodic reconcile of every slot, 60 s after its bring-up, has measured its clone once more),
   * then measures {@code seconds} of steady state with every slot Serving.
   */
  private Idle idle(int n, int settleSeconds, int seconds) throws InterruptedException {
    Thread.sleep(settleSeconds * 1000L); // a measurement window, not a wait for a condition
    Map<String, Long> before = ApiWrites.read(lab.controlPlane());
    Map<String, Long> threadTicks = threadTicks(lab.agent().pid());
    long childTicks = childTicks(lab.agent().pid());
    double[] cpu = cpuSeconds();
    long t0 = System.nanoTime();
    Thread.sleep(seconds * 1000L);
    double[] cpuAfter = cpuSeconds();
    double elapsed = (System.nanoTime() - t0) / 1e9;
    Map<String, Long> threadDelta = new TreeMap<>();
    threadTicks(lab.agent().pid()).forEach((k, v) -> {
      long d = v - threadTicks.getOrDefault(k, 0L);
      if (d > 0) {
        threadDelta.put(k, d);
      }
    });
    System.out.printf("[bench] idle agent CPU by thread (ticks of 10 ms over %.0f s): %s; waited-for children: %d%n",
        elapsed, threadDelta, childTicks(lab.agent().pid()) - childTicks);
    Map<String, Long> writes = ApiWrites.delta(before, ApiWrites.read(lab.controlPlane()));
    long serving = slots().stream().filter(s -> s.getStatus() != null && s.getStatus().getPhase() == SlotPhase.Serving)
        .count();
    if (serving != n) {
      throw new IllegalStateException("idle window at " + n + " slots ended with only " + serving + " Serving");
    }
    return new Idle(n, elapsed, cpuAfter[0] - cpu[0], cpuAfter[1] - cpu[1], writes, load1());
  }

  // ---- many pools ---------------------------------------------------------------------------

  /** First shelf of the pools of {@link #acrossPools} (the main pool uses {@link #COWHERD_SHELF}). */
  private static final int POOLS_FIRST_SHELF = 100;
  /** How long after the last slot is Serving the sizes are sampled (status writes and Events land). */
  private static final Duration POOLS_SETTLE = Duration.ofSeconds(20);

  /**
   * The operator's size with {@code slots} slots spread over {@code pools} pools (issue 11, goal 2:
   * operator RSS at 255 slots across 50 pools): creates the pools at once (one {@code kubectl apply},
   * replicas as even as they go), waits until every slot is {@code Serving}, lets status writes land
   * for {@link #POOLS_SETTLE}, samples RSS and threads of both JVMs ("... across N pools"), then
   * scales every pool to 0, waits until no slot is left and deletes the pools.
   */
  private void acrossPools(int slots, int pools, List<ProcSample> procs) throws Exception {
    StringBuilder all = new StringBuilder();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < pools; i++) {
      String name = String.format(Locale.ROOT, "%s-p%02d", POOL, i);
      names.add(name);
      int replicas = slots / pools + (i < slots % pools ? 1 : 0);
      all.append(Files.readString(lab.writePoolYaml(name, POOLS_FIRST_SHELF + i, replicas))).append("---\n");
    }
    Path file = lab.agent().log().getParent().resolve("pools-" + pools + ".yaml");
    Files.writeString(file, all);
    long t0 = System.nanoTime();
    lab.controlPlane().kubectlOk("apply", "-f", file.toString());
    long deadline = t0 + LIMIT.toNanos();
    while (true) {
      List<AoeBootSlot> now = slots();
      if (now.size() == slots && now.stream()
          .allMatch(s -> s.getStatus() != null && s.getStatus().getPhase() == SlotPhase.Serving)) {
        break;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(pools + " pools: " + now.size() + " of " + slots + " slots after " + LIMIT);
      }
      Thread.sleep(200);
    }
    System.out.printf(Locale.ROOT, "[bench] %d slots across %d pools Serving after %.2f s%n", slots, pools,
        (System.nanoTime() - t0) / 1e9);
    Thread.sleep(POOLS_SETTLE.toMillis()); // a settling window before a sample, not a wait for a condition
    sampleProcs(procs, slots, " (across " + pools + " pools)");
    for (String name : names) {
      lab.controlPlane().client().resources(AoeBootPool.class).inNamespace(NS).withName(name)
          .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"replicas\":0}}");
    }
    deadline = System.nanoTime() + LIMIT.toNanos();
    while (!slots().isEmpty()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(pools + " pools: " + slots().size() + " slots left after " + LIMIT);
      }
      Thread.sleep(200);
    }
    lab.controlPlane().kubectlOk("delete", "-f", file.toString());
  }

  // ---- agent restart -----------------------------------------------------------------------

  /**
   * SIGKILL the agent with {@code n} slots Serving and start it again, as a plain JVM; with {@code
   * --aot-dir}, then once more with a JDK AOT cache (JEP 483/514, {@code -XX:AOTCacheOutput}: the
   * plain restart's successor trains it and writes it at its exit, a SIGTERM; the next restart maps
   * it with {@code -XX:AOTCache}, as the agent image does).
   */
  private List<Restart> restarts(int n) throws Exception {
    List<Restart> done = new ArrayList<>();
    done.add(agentRestart(n, "plain JVM, SIGKILL", List.of(), true));
    report(done.getLast());
    if (aotDir != null) {
      Files.createDirectories(aotDir);
      Path cache = aotDir.resolve("cowherd-node-agent.aot");
      Files.deleteIfExists(cache);
      done.add(agentRestart(n, "AOT training run, SIGKILL", List.of("-XX:AOTCacheOutput=" + cache), true));
      lab.agent().stop(Duration.ofSeconds(60)); // SIGTERM: the JVM writes the cache as it exits
      if (!Files.isRegularFile(cache)) {
        throw new IllegalStateException("the AOT training run wrote no " + cache + "; see " + lab.agent().log());
      }
      done.add(agentRestart(n, "AOT cache, after SIGTERM", List.of("-XX:AOTCache=" + cache), false));
      report(done.getLast());
    }
    return done;
  }

  private static void report(Restart r) {
    System.out.printf("[bench] agent restart at %d slots (%s): all adopted %.2f s after process start (controller"
        + " started at %.2f s); exporters restarted %d; writes %s%n", r.slots(), r.jvm(), r.seconds(),
        r.controllerSeconds(), r.exportersRestarted(), r.writes());
  }

  /**
   * Kills the running agent ({@code kill}: SIGKILL; else it was already stopped), starts a new one
   * with {@code extraJvm} and waits until its log shows {@code n} adoptions.
   */
  private Restart agentRestart(int n, String jvm, List<String> extraJvm, boolean kill) throws Exception {
    Map<Integer, Long> before = exporterPids();
    if (before.size() != n) {
      throw new IllegalStateException("agent restart: " + before.size() + " exporters of shelf " + COWHERD_SHELF
          + " run, not " + n);
    }
    Map<String, Long> writes = ApiWrites.read(lab.controlPlane());
    if (kill) {
      lab.agent().kill();
    }
    long t0 = System.nanoTime();
    ManagedProcess agent = lab.startAgent(extraJvm, List.of()); // returns once its slot controller has started
    double controller = (System.nanoTime() - t0) / 1e9;
    long deadline = t0 + LIMIT.toNanos();
    while (count(agent.log(), ADOPTED_LINE) < n) {
      if (System.nanoTime() > deadline || !agent.isAlive()) {
        throw new IllegalStateException("agent restart: only " + count(agent.log(), ADOPTED_LINE) + " of " + n
            + " adopted; see " + agent.log());
      }
      Thread.sleep(10);
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    Thread.sleep(AFTER_ADOPTION.toMillis()); // a counting window for late writes, not a wait for a condition
    Map<Integer, Long> after = exporterPids();
    int restarted = (int) before.entrySet().stream().filter(e -> !e.getValue().equals(after.get(e.getKey()))).count();
    return new Restart(n, jvm, seconds, controller, restarted,
        ApiWrites.delta(writes, ApiWrites.read(lab.controlPlane())), load1());
  }

  private Map<Integer, Long> exporterPids() {
    Map<Integer, Long> pids = new TreeMap<>();
    exportersOfShelf(COWHERD_SHELF).forEach(e -> pids.put(e.slot(), e.pid()));
    return pids;
  }

  private static int count(Path log, String marker) throws IOException {
    String text = Files.readString(log);
    int found = 0;
    for (int at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + 1)) {
      found++;
    }
    return found;
  }

  // ---- the API server alone ----------------------------------------------------------------

  /**
   * The API server's own ceiling for cowherd's writes: {@code n} objects, {@code writesEach} writes
   * each (bring-up: create + 1 patch, as slot create and its status write;
   * teardown: 2 patches + delete, as mark, delete, finalizer removal), at most
   * {@link #CEILING_IN_FLIGHT} requests in flight (the operator's bound), on ConfigMaps in a namespace
   * nothing watches. With {@code teardown}, the objects made by the previous bring-up call are used.
   *
   * @return seconds until the last write returned
   */
  private double apiAlone(int n, int writesEach, boolean teardown) throws InterruptedException {
    KubernetesClient admin = lab.controlPlane().client();
    if (admin.namespaces().withName(CEILING_NS).get() == null) {
      admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(CEILING_NS).endMetadata().build())
          .create();
    }
    long t0 = System.nanoTime();
    Semaphore inFlight = new Semaphore(CEILING_IN_FLIGHT);
    try (ExecutorService writers = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<?>> done = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String name = "ceiling-" + i;
        inFlight.acquire();
        done.add(writers.submit(() -> {
          try {
            var cm = admin.configMaps().inNamespace(CEILING_NS).withName(name);
            int patches = writesEach - 1;
            if (!teardown) {
              admin.configMaps().inNamespace(CEILING_NS).resource(new ConfigMapBuilder().withNewMetadata()
                  .withName(name).endMetadata().build()).create();
            }
            for (int w = 0; w < patches; w++) {
              cm.patch(PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"annotations\":{\"w\":\"" + w + "\"}}}");
            }
            if (teardown) {
              cm.delete();
            }
          } finally {
            inFlight.release();
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        try {
          f.get();
        } catch (ExecutionException e) {
          throw new IllegalStateException("API server ceiling: a write failed", e.getCause());
        }
      }
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  // ---- floor ------------------------------------------------------------------------------

  private double floorUp(int n) throws IOException, InterruptedException {
    Path origin = lab.originImage();
    String nic = lab.network().exporterInterface();
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      Path copy = floorDir.resolve(i + ".img");
      Process cp = new ProcessBuilder("cp", "--reflink=always", origin.toString(), copy.toString())
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!cp.waitFor(60, TimeUnit.SECONDS) || cp.exitValue() != 0) {
        throw new IllegalStateException("cp --reflink=always to " + copy + " failed");
      }
      floorExporters.add(new ProcessBuilder("vblade", "-s", "--", Integer.toString(FLOOR_SHELF), Integer.toString(i),
          nic, copy.toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
    }
    Set<Integer> answered = new HashSet<>();
    long deadline = t0 + LIMIT.toNanos();
    while (answered.size() < n) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("floor 0→" + n + ": only " + answered.size() + " answering after " + LIMIT);
      }
      collectAnswers(FLOOR_SHELF, answered);
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  private double floorDown(int n) throws IOException {
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      floorExporters.get(i).destroy();
      Files.delete(floorDir.resolve(i + ".img"));
    }
    for (Process p : floorExporters) {
      p.onExit().orTimeout(60, TimeUnit.SECONDS).join();
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    floorExporters.clear();
    return seconds;
  }

  // ---- shared -----------------------------------------------------------------------------

  /** One 20 ms broadcast Query Config round; adds the slots of {@code shelf} that answered. */
  private void collectAnswers(int shelf, Set<Integer> answered) throws IOException {
    for (DiscoveredTarget d : client.discover(Duration.ofMillis(20))) {
      if (d.target().shelf() == shelf) {
        answered.add(d.target().slot());
      }
    }
  }

  private List<Exporters.Exporter> exportersOfShelf(int shelf) {
    return Exporters.on(lab.network().exporterInterface()).stream().filter(e -> e.shelf() == shelf).toList();
  }

  private void sampleProcs(List<ProcSample> procs, int slots) {
    sampleProcs(procs, slots, "");
  }

  private void sampleProcs(List<ProcSample> procs, int slots, String note) {
    for (ManagedProcess p : List.of(lab.agent(), lab.operator())) {
      Map<String, String> status = procStatus(p.pid());
      writeMemoryDetail(p, (p == lab.agent() ? "agent" : "operator") + note.replace(" ", "-").replace("(", "")
          .replace(")", "") + "-" + slots);
      procs.add(new ProcSample((p == lab.agent() ? "agent" : "operator") + note, slots,
          Long.parseLong(status.get("VmRSS").replace("kB", "").strip()), Integer.parseInt(status.get("Threads").strip())));
    }
  }

  /**
   * Writes beside the logs where a JVM's memory and threads go: its threads by name (from {@code
   * /proc/<pid>/task/<tid>/comm}, digits folded) and, when the JVM runs with {@code
   * -XX:NativeMemoryTracking=summary} (for example through {@code JDK_JAVA_OPTIONS}), {@code jcmd
   * VM.native_memory summary}; always {@code jcmd GC.heap_info} (generations' capacity and use; no
   * collection). Diagnostics only; the table does not depend on them.
   */
  private void writeMemoryDetail(ManagedProcess p, String label) {
    StringBuilder b = new StringBuilder();
    Map<String, Integer> byName = new TreeMap<>();
    try (var tasks = Files.list(Path.of("/proc", Long.toString(p.pid()), "task"))) {
      tasks.forEach(t -> {
        try {
          byName.merge(Files.readString(t.resolve("comm")).strip().replaceAll("[0-9]+", "#"), 1, Integer::sum);
        } catch (IOException e) {
          // thread ended meanwhile
        }
      });
    } catch (IOException e) {
      b.append("cannot list threads: ").append(e.getMessage()).append('\n');
    }
    byName.forEach((k, v) -> b.append(String.format(Locale.ROOT, "%4d  %s%n", v, k)));
    for (String command : List.of("GC.heap_info", "VM.native_memory")) {
      try {
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
            Long.toString(p.pid()), command));
        if (command.equals("VM.native_memory")) {
          argv.add("summary");
        }
        Process jcmd = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(jcmd.getInputStream().readAllBytes());
        if (jcmd.waitFor(30, TimeUnit.SECONDS)) {
          b.append('\n').append(out);
        }
      } catch (IOException e) {
        b.append("jcmd failed: ").append(e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      Files.writeString(lab.agent().log().getParent().resolve("memory-" + label + ".txt"), b);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** CPU ticks (utime + stime) of each thread of {@code pid}, summed by name with digits folded. */
  private static Map<String, Long> threadTicks(long pid) {
    Map<String, Long> ticks = new TreeMap<>();
    try {
      ProcStat.threads(pid).values().forEach(t -> ticks.merge(t.name().replaceAll("[0-9]+", "#"), t.ownTicks(), Long::sum));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return ticks;
  }

  /** CPU ticks of {@code pid}'s waited-for children ({@code /proc/<pid>/stat} cutime + cstime). */
  private static long childTicks(long pid) {
    try {
      return ProcStat.of(pid).childTicks();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Map<String, String> procStatus(long pid) {
    Map<String, String> fields = new LinkedHashMap<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        int colon = line.indexOf(':');
        if (colon > 0) {
          fields.put(line.substring(0, colon), line.substring(colon + 1).strip());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read /proc/" + pid + "/status", e);
    }
    return fields;
  }

  /**
   * CPU seconds of the agent and the operator: user + system of the JVM and of its waited-for
   * children ({@code /proc/<pid>/stat} fields 14-17, utime, stime, cutime, cstime; proc(5)), so
   * the {@code nft}, {@code cp} and {@code filefrag} runs count too; exporters are not children
   * ({@code setsid --fork}) and do not.
   */
  private double[] cpuSeconds() {
    return new double[] {cpuSeconds(lab.agent().pid()), cpuSeconds(lab.operator().pid())};
  }

  private void addCpu(Figure f, double[] before) {
    double[] after = cpuSeconds();
    f.agentCpu().add(after[0] - before[0]);
    f.operatorCpu().add(after[1] - before[1]);
  }

  private static double cpuSeconds(long pid) {
    try {
      return ProcStat.of(pid).secondsWithChildren();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read /proc/" + pid + "/stat", e);
    }
  }

  private static double load1() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static double median(List<Double> values) {
    List<Double> sorted = values.stream().sorted().toList();
    int m = sorted.size() / 2;
    return sorted.size() % 2 == 1 ? sorted.get(m) : (sorted.get(m - 1) + sorted.get(m)) / 2;
  }

  private static String table(List<Figure> figures, List<Idle> idles, List<Restart> restarts, List<ProcSample> procs,
      int rounds) {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "%ncowherd vs floor, medians of %d interleaved rounds (s)%n", rounds));
    b.append(String.format(Locale.ROOT, "%-52s %9s %9s %7s %12s%n", "figure", "cowherd", "floor", "ratio", "load avg 1m"));
    for (Figure f : figures) {
      double c = median(f.cowherd());
      double fl = median(f.floor());
      b.append(String.format(Locale.ROOT, "%-52s %9.2f %9.2f %6.1f× %6.2f–%.2f%n", f.name(), c, fl, c / fl,
          f.load().stream().mapToDouble(Double::doubleValue).min().orElse(0),
          f.load().stream().mapToDouble(Double::doubleValue).max().orElse(0)));
      b.append(String.format(Locale.ROOT, "    CPU during cowherd's run (median): agent %.2f s, operator %.2f s%n",
          median(f.agentCpu()), median(f.operatorCpu())));
      b.append(String.format(Locale.ROOT, "    API server alone, the same number of writes (%d in flight): %.2f s; cowherd / that: %.1f×%n",
          CEILING_IN_FLIGHT, median(f.api()), c / median(f.api())));
      b.append(String.format(Locale.ROOT, "    API writes in the last round (incl. the benchmark's one scale patch): %s%n",
          f.lastWrites()));
    }
    for (Idle i : idles) {
      b.append(String.format(Locale.ROOT, "%-52s %8.2f%% %9s %7s %6.2f%n",
          "idle agent CPU at " + i.slots() + " slots (of one core)", i.agentPercent(), "0", "—", i.load()));
      b.append(String.format(Locale.ROOT, "%-52s %9.1f %9s %7s %6.2f%n",
          "API writes/min at " + i.slots() + " slots (pools, slots, Events)", i.objectWritesPerMinute(), "0", "—",
          i.load()));
      b.append(String.format(Locale.ROOT, "    over %.0f s: operator CPU %.2f s; heartbeat Lease writes/min %.1f; by resource %s%n",
          i.seconds(), i.operatorCpu(), i.leaseWritesPerMinute(), i.writes()));
    }
    for (Restart r : restarts) {
      b.append(String.format(Locale.ROOT, "%-52s %8.2f s %9s %7s %6.2f%n",
          "agent restart at " + r.slots() + " slots, all adopted", r.seconds(), "—", "—", r.load()));
      b.append(String.format(Locale.ROOT, "    %s; controller started at %.2f s; exporters restarted %d; slot writes %d;"
          + " writes by resource %s%n", r.jvm(), r.controllerSeconds(), r.exportersRestarted(), r.slotWrites(),
          r.writes()));
    }
    for (ProcSample p : procs) {
      b.append(String.format(Locale.ROOT, "%-52s %6d MiB RSS, %d threads%n", p.who() + " at " + p.slots() + " slots",
          p.rssKiB() / 1024, p.threads()));
    }
    return b.toString();
  }

  private static String json(List<Figure> figures, List<Idle> idles, List<Restart> restarts, List<ProcSample> procs,
      int rounds) {
    StringBuilder b = new StringBuilder("{\n  \"rounds\": ").append(rounds).append(",\n  \"figures\": [\n");
    for (int i = 0; i < figures.size(); i++) {
      Figure f = figures.get(i);
      double c = median(f.cowherd());
      double fl = median(f.floor());
      b.append(String.format(Locale.ROOT,
          "    {\"figure\": \"%s\", \"cowherd_s\": %.3f, \"floor_s\": %.3f, \"ratio\": %.2f, \"cowherd_rounds_s\": %s,"
              + " \"floor_rounds_s\": %s, \"load_avg_1m\": %s, \"agent_cpu_s\": %s, \"operator_cpu_s\": %s,"
              + " \"last_round_writes_by_resource\": %s, \"api_server_alone_s\": %.3f, \"api_server_alone_rounds_s\": %s}%s%n",
          f.name(), c, fl, c / fl, list(f.cowherd()), list(f.floor()), list(f.load()), list(f.agentCpu()),
          list(f.operatorCpu()), jsonCounts(f.lastWrites()), median(f.api()), list(f.api()),
          i + 1 < figures.size() ? "," : ""));
    }
    b.append("  ],\n  \"idle\": [\n");
    for (int i = 0; i < idles.size(); i++) {
      Idle d = idles.get(i);
      String w = jsonCounts(d.writes());
      b.append(String.format(Locale.ROOT,
          "    {\"slots\": %d, \"seconds\": %.1f, \"agent_cpu_s\": %.3f, \"agent_cpu_percent\": %.3f,"
              + " \"operator_cpu_s\": %.3f, \"object_writes_per_min\": %.2f, \"lease_writes_per_min\": %.2f,"
              + " \"writes_by_resource\": %s, \"load_avg_1m\": %.2f}%s%n",
          d.slots(), d.seconds(), d.agentCpu(), d.agentPercent(), d.operatorCpu(), d.objectWritesPerMinute(),
          d.leaseWritesPerMinute(), w, d.load(), i + 1 < idles.size() ? "," : ""));
    }
    b.append("  ],\n  \"restarts\": [\n");
    for (int i = 0; i < restarts.size(); i++) {
      Restart r = restarts.get(i);
      b.append(String.format(Locale.ROOT,
          "    {\"slots\": %d, \"jvm\": \"%s\", \"all_adopted_s\": %.3f, \"controller_started_s\": %.3f,"
              + " \"exporters_restarted\": %d, \"slot_writes\": %d, \"writes_by_resource\": %s, \"load_avg_1m\": %.2f}%s%n",
          r.slots(), r.jvm(), r.seconds(), r.controllerSeconds(), r.exportersRestarted(), r.slotWrites(),
          jsonCounts(r.writes()), r.load(), i + 1 < restarts.size() ? "," : ""));
    }
    b.append("  ],\n  \"processes\": [\n");
    for (int i = 0; i < procs.size(); i++) {
      ProcSample p = procs.get(i);
      b.append(String.format(Locale.ROOT, "    {\"process\": \"%s\", \"slots\": %d, \"rss_kib\": %d, \"threads\": %d}%s%n",
          p.who(), p.slots(), p.rssKiB(), p.threads(), i + 1 < procs.size() ? "," : ""));
    }
    return b.append("  ]\n}\n").toString();
  }

  private static String jsonCounts(Map<String, Long> counts) {
    StringBuilder w = new StringBuilder("{");
    counts.forEach((k, v) -> w.append(w.length() > 1 ? ", " : "").append('"').append(k).append("\": ").append(v));
    return w.append('}').toString();
  }

  private static String list(List<Double> values) {
    return values.stream().map(v -> String.format(Locale.ROOT, "%.3f", v)).toList().toString();
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> opts = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("usage: ScaleBenchmark [--slots 64,255] [--rounds 3] [--idle 60] [--settle 70] [--restart yes|no] [--pools 50] [--out FILE] [--work DIR]");
      }
      opts.put(args[i], args[++i]);
    }
    return opts;
  }
}
