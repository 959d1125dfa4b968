package io.cowherd.e2e.kernel.guest;

import static io.cowherd.e2e.kernel.guest.GuestHost.secondsSince;
import static io.cowherd.e2e.kernel.guest.GuestHost.step;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.LoopDevice;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.SnapshotStatus;
import io.cowherd.api.SlotOrigins;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootPoolSpec;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.CowSpec;
import io.cowherd.api.v1alpha1.SlotCapture;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.e2e.support.Commands;
import io.cowherd.e2e.support.Exporters;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Runs in the test guest: the node agent (its own JVM, as in production) serves this guest as a
 * node of the real API server on the host, reached through QEMU's guestfwd; the operator runs on
 * the host. Pool {@code kernel} (2 replicas, dm-snapshot) becomes two Serving slots that the
 * kernel {@code aoe} initiator reads as the origin; a write through {@code /dev/etherd/e7.1} stays
 * in slot 1. The agent is SIGKILLed and restarted: it adopts every device (no duplicate, exporters
 * kept, write kept) and then serves a third slot. Pool {@code small}, whose COW file was left at
 * 1 MiB, overflows: its slot turns Failed with a message and a Warning Event. Scaling {@code
 * kernel} to 0 and deleting {@code small} leave no cowherd loop device, dm device or vblade.
 * Between the restart and the overflow check, the origin lifecycle ({@link #originLifecycle}):
 * capture, reset onto a new origin, an origin rewritten in place, rollback and loop release.
 *
 * <p>Arguments: {@code KUBECONFIG WORK_DIR NODE_NAME AGENT} where AGENT is the agent jar or a
 * class path (then its main class is run).
 */
public final class NodeAgentScenario {
  private static final String NS = "default";
  private static final int ORIGIN_BYTES = 64 << 20;
  private static final Path ORIGIN = Path.of("/tmp/images/origin.img");
  private static final Path STATE = Path.of("/tmp/state");
  private static final String EXPORTER_NIC = "cwn0";
  private static final String INITIATOR_NIC = "cwi0";
  private static final Duration SLOW = Duration.ofMinutes(4);
  private static final int REQUEST_TIMEOUT_MILLIS = GuestHost.AGENT_API_TIMEOUT_MILLIS;

  private final KubernetesClient client;
  private final Path workDir;
  private final String nodeName;
  private final String agent;
  private Process agentProcess;
  private int agentStarts;

  private NodeAgentScenario(KubernetesClient client, Path workDir, String nodeName, String agent) {
    this.client = client;
    this.workDir = workDir;
    this.nodeName = nodeName;
    this.agent = agent;
  }

  public static void main(String[] args) throws Exception {
    Path kubeconfig = Path.of(args[0]);
    Config config = Config.fromKubeconfig(Files.readString(kubeconfig));
    // One emulated CPU runs this JVM and the agent's: give requests time (defaults are 10 s).
    config.setRequestTimeout(REQUEST_TIMEOUT_MILLIS);
    config.setConnectionTimeout(REQUEST_TIMEOUT_MILLIS);
    try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
      NodeAgentScenario s = new NodeAgentScenario(client, Path.of(args[1]), args[2], args[3]);
      try {
        s.run(kubeconfig);
      } finally {
        s.stopAgent();
      }
    }
    System.out.println("scenario node-agent: passed");
  }

  private void run(Path kubeconfig) throws Exception {
    GuestHost.modprobe("loop", "dm_snapshot", "veth");
    Commands.run("ip", "link", "add", EXPORTER_NIC, "mtu", "9000", "type", "veth", "peer", "name", INITIATOR_NIC, "mtu", "9000");
    Commands.run("ip", "link", "set", EXPORTER_NIC, "up");
    Commands.run("ip", "link", "set", INITIATOR_NIC, "up");
    GuestHost.modprobe("aoe aoe_iflist=" + INITIATOR_NIC);
    byte[] origin = GuestHost.writeOrigin(ORIGIN, ORIGIN_BYTES, 4);
    // A COW store smaller than what will be written: the agent adopts an existing COW file as is.
    Path smallCow = new HostNames(STATE).cowFilePath(new SlotId(NS, "small", 0));
    Files.createDirectories(smallCow.getParent());
    try (RandomAccessFile f = new RandomAccessFile(smallCow.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    step("guest prepared");

    long started = System.nanoTime();
    client.resource(pool("kernel", 7, 2)).create();
    client.resource(pool("small", 9, 1)).create();
    startAgent(kubeconfig);
    awaitServing("kernel", 2);
    System.out.printf("[measure] agent start + pool apply -> 2 dm-snapshot slots Serving in the guest: %.1f s%n",
        secondsSince(started));
    awaitServing("small", 1);
    step("pools kernel (2) and small (1) are Serving");

    // Overflow the small slot now; the agent notices at its next periodic reconcile (<= 60 s).
    Path smallDevice = HostNames.dmDevicePath(new SlotId(NS, "small", 0));
    try {
      BlockIo.write(smallDevice, 0, GuestHost.pattern(4 << 20, 13));
    } catch (RuntimeException e) {
      System.out.println("writing 4 MiB into the 1 MiB COW store failed as expected: " + e.getMessage());
    }
    System.out.println("dmsetup status " + smallDevice.getFileName() + ": "
        + Commands.run("dmsetup", "status", smallDevice.getFileName().toString()).strip());

    List<Path> targets = List.of(Path.of("/dev/etherd/e7.0"), Path.of("/dev/etherd/e7.1"));
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
      Files.writeString(Path.of("/dev/etherd/discover"), "\n");
      targets.forEach(t -> assertThat(t).exists());
    });
    for (Path t : targets) {
      assertThat(BlockIo.firstDifference(t, origin)).as("%s serves the origin through the kernel initiator", t).isEqualTo(-1);
    }
    long offset = 3L << 20;
    byte[] written = GuestHost.pattern(256 << 10, 17);
    BlockIo.write(targets.get(1), offset, written);
    assertThat(BlockIo.read(targets.get(1), offset, written.length)).isEqualTo(written);
    assertThat(BlockIo.read(targets.get(0), offset, written.length)).as("e7.0 unchanged")
        .isEqualTo(Arrays.copyOfRange(origin, (int) offset, (int) offset + written.length));
    // vblade writes through the page cache; a direct read of the range flushes it into the snapshot.
    assertThat(BlockIo.read(Path.of(slot("kernel", 1).getStatus().getExportPath()), offset, written.length))
        .as("slot 1's dm device holds the write").isEqualTo(written);
    assertThat(dataSectors(slot("kernel", 1).getStatus().getDmName())).isEqualTo(written.length / 512);
    assertThat(dataSectors(slot("kernel", 0).getStatus().getDmName())).isZero();
    step("both slots verified through the kernel initiator; the write is in slot 1 only");

    Map<String, Long> exportersBefore = exporterPids();
    List<String> dmBefore = GuestHost.dmNames();
    List<LoopDevice> loopsBefore = GuestHost.loops();
    agentProcess.destroyForcibly().waitFor();
    step("agent SIGKILLed");
    started = System.nanoTime();
    startAgent(kubeconfig);
    scale("kernel", 3);
    awaitServing("kernel", 3);
    System.out.printf("[measure] agent restart after SIGKILL -> adopted, and a third slot Serving: %.1f s%n",
        secondsSince(started));
    assertThat(GuestHost.dmNames()).as("dm devices after the restart: the old ones plus slot 2's")
        .containsExactlyInAnyOrderElementsOf(concat(dmBefore, HostNames.dmName(new SlotId(NS, "kernel", 2))));
    assertThat(GuestHost.loops()).as("loop devices after the restart: the old ones plus slot 2's COW loop")
        .hasSize(loopsBefore.size() + 1).containsAll(loopsBefore);
    Map<String, Long> exportersAfter = exporterPids();
    exportersBefore.forEach((target, pid) ->
        assertThat(exportersAfter).as("exporter of %s adopted, not restarted", target).containsEntry(target, pid));
    assertThat(exportersAfter).as("one vblade per slot: the old ones and e7.2's").hasSize(exportersBefore.size() + 1)
        .containsKey("e7.2");
    assertThat(Exporters.all()).as("every vblade in the guest").hasSize(exportersAfter.size());
    assertThat(BlockIo.read(targets.get(1), offset, written.length)).as("the write survived the SIGKILL").isEqualTo(written);
    step("restarted agent adopted everything");

    originLifecycle(origin, offset, written);

    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
      AoeBootSlot small = slot("small", 0);
      assertThat(small.getStatus().getPhase()).isEqualTo(SlotPhase.Failed);
      assertThat(small.getStatus().getMessage()).contains("Overflow", "stays readable");
    });
    AoeBootSlot small = slot("small", 0);
    System.out.println("slot small-0: " + small.getStatus().getPhase() + ": " + small.getStatus().getMessage());
    // The agent writes Events in the background, after the reconciliation that records them.
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
      List<Event> events = client.v1().events().inNamespace(NS).list().getItems().stream()
          .filter(e -> e.getInvolvedObject() != null && "small-0".equals(e.getInvolvedObject().getName()))
          .filter(e -> "Warning".equals(e.getType()))
          .toList();
      assertThat(events).as("Warning Events on slot small-0").anySatisfy(e -> {
        assertThat(e.getReason()).isEqualTo("CowStoreFull");
        assertThat(e.getMessage()).contains("Overflow");
      });
    });
    client.v1().events().inNamespace(NS).list().getItems().stream()
        .filter(e -> e.getInvolvedObject() != null && "small-0".equals(e.getInvolvedObject().getName()))
        .forEach(e -> System.out.println("event on small-0: " + e.getReason() + ": " + e.getMessage()));
    assertThat(GuestHost.fileEquals(ORIGIN, origin)).as("origin file unchanged").isTrue();
    step("overflowed slot is Failed with a message and a Warning Event");

    started = System.nanoTime();
    scale("kernel", 0);
    client.resources(AoeBootPool.class).inNamespace(NS).withName("small").delete();
    await().atMost(SLOW).pollInterval(Duration.ofSeconds(1)).untilAsserted(() ->
        assertThat(client.resources(AoeBootSlot.class).inNamespace(NS).list().getItems()).isEmpty());
    System.out.printf("[measure] scale to 0 (3 slots) and delete (1 slot) -> slots gone: %.1f s%n", secondsSince(started));
    // Loop detach completes in the kernel after losetup returns (the origin loop is not re-checked): wait.
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
      assertThat(GuestHost.dmNames()).as("dm devices left").noneMatch(n -> n.startsWith(HostNames.PREFIX));
      assertThat(GuestHost.loops()).as("loop devices left").isEmpty();
      assertThat(GuestHost.mapperNodes()).as("/dev/mapper nodes left").isEmpty();
      assertThat(Exporters.all()).as("vblade processes left").isEmpty();
      assertThat(GuestHost.filesUnder(STATE)).as("files left in the state dir").isEmpty();
    });
    step("no cowherd loop device, dm device or vblade left");
  }

  /**
   * The origin lifecycle on dm-snapshot, with the real operator and agent: slot kernel-1 (holding
   * the write) is captured into a new origin file (exporter stopped during the copy, started again);
   * the pool moves to a new origin v2 and a reset rebuilds kernel-0 on it while v1 keeps its loop
   * device for the other slots; v2 rewritten in place under the live slot turns it Failed
   * (OriginChanged) with its exporter stopped; rolling the pool back and resetting kernel-0 again
   * moves it back to v1 and releases v2's loop device, its last user gone. Prints the time from the
   * reset annotation to the slot Serving on the new origin and the page cache of both origins
   * ({@code fincore}; caches are never dropped).
   */
  private void originLifecycle(byte[] origin, long offset, byte[] written) throws Exception {
    Path captured = ORIGIN.resolveSibling("captured.img");
    long exporterBefore = slot("kernel", 1).getStatus().getExporterPid();
    long started = System.nanoTime();
    annotate("kernel-1", SlotOrigins.CAPTURE_ANNOTATION, captured.toString());
    await().atMost(SLOW).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
      var c = slot("kernel", 1).getStatus().getCapture();
      assertThat(c).as("status.capture of kernel-1").isNotNull();
      assertThat(c.getResult()).as(c.getMessage()).isEqualTo(SlotCapture.CAPTURED);
    });
    var capture = slot("kernel", 1).getStatus().getCapture();
    System.out.printf("[measure] dm-snapshot capture of a %d MiB slot: %d ms copy, %.1f s from annotation to status%n",
        ORIGIN_BYTES >> 20, capture.getDurationMillis(), secondsSince(started));
    byte[] expected = origin.clone();
    System.arraycopy(written, 0, expected, (int) offset, written.length);
    assertThat(GuestHost.fileEquals(captured, expected)).as("the capture is the origin plus slot 1's write").isTrue();
    assertThat(capture.getSizeBytes()).isEqualTo(ORIGIN_BYTES);
    assertThat(Files.getPosixFilePermissions(captured)).isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("r--r--r--"));
    awaitServing("kernel", 3);
    assertThat(slot("kernel", 1).getStatus().getExporterPid()).as("exporter stopped for the copy and started again")
        .isNotEqualTo(exporterBefore);
    assertThat(BlockIo.read(Path.of(slot("kernel", 1).getStatus().getExportPath()), offset, written.length))
        .as("slot 1 keeps its write").isEqualTo(written);
    step("slot kernel-1 captured into " + captured);

    Path v2 = ORIGIN.resolveSibling("origin-v2.img");
    byte[] v2Bytes = GuestHost.writeOrigin(v2, ORIGIN_BYTES, 5);
    client.resources(AoeBootPool.class).inNamespace(NS).withName("kernel").edit(p -> {
      p.getSpec().setImage(v2.toString());
      return p;
    });
    await().atMost(SLOW).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
        assertThat(client.resources(AoeBootPool.class).inNamespace(NS).withName("kernel").get().getStatus()
            .getStaleReplicas()).as("a new image moves no slot").isEqualTo(3));
    started = System.nanoTime();
    annotate("kernel-0", SlotOrigins.RESET_ANNOTATION, "to-v2");
    await().atMost(SLOW).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      AoeBootSlot s0 = slot("kernel", 0);
      assertThat(s0.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
      assertThat(s0.getStatus().getOrigin().getPath()).isEqualTo(v2.toString());
      assertThat(s0.getStatus().getOrigin().getRebuild()).isEqualTo("reset-to-v2");
    });
    System.out.printf("[measure] dm-snapshot reset onto a new origin (64 MiB, TCG guest): annotation -> Serving %.1f s%n",
        secondsSince(started));
    Path s0Device = Path.of(slot("kernel", 0).getStatus().getExportPath());
    assertThat(BlockIo.firstDifference(s0Device, v2Bytes)).as("kernel-0 serves v2").isEqualTo(-1);
    assertThat(BlockIo.read(Path.of(slot("kernel", 1).getStatus().getExportPath()), offset, written.length))
        .as("kernel-1 untouched").isEqualTo(written);
    assertThat(GuestHost.loops()).filteredOn(LoopDevice::readOnly).extracting(LoopDevice::backFile)
        .as("both origins attached while both are used").contains(ORIGIN, v2);
    // Read both origins through their slots' dm devices once, as booting clients would.
    assertThat(BlockIo.firstDifference(Path.of(slot("kernel", 1).getStatus().getExportPath()), expected)).isEqualTo(-1);
    // The guest's /tmp is tmpfs: its files are always resident, so this shows the upper bound (the whole
    // origin), not what reads cached; fincore cannot look into a loop device's own cache (size 0).
    System.out.println("[measure] page cache of the old and the new origin while both are served (fincore, tmpfs:"
        + " always resident):\n" + Commands.run("fincore", "--bytes", ORIGIN.toString(), v2.toString()).strip());
    step("kernel-0 reset onto v2; v1 still attached for the other slots");

    byte[] overwrite = GuestHost.pattern(64 << 10, 99);
    java.nio.file.attribute.FileTime mtime = Files.getLastModifiedTime(v2);
    try (RandomAccessFile f = new RandomAccessFile(v2.toFile(), "rw")) {
      f.seek(1 << 20);
      f.write(overwrite);
      f.getFD().sync();
    }
    Files.setLastModifiedTime(v2, mtime); // what rsync -t or a careless tool leaves: same size, same mtime
    await().atMost(Duration.ofSeconds(150)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
      AoeBootSlot s0 = slot("kernel", 0);
      assertThat(s0.getStatus().getPhase()).as(phaseOf(s0)).isEqualTo(SlotPhase.Failed);
      assertThat(s0.getStatus().getOrigin().getChanged()).isTrue();
      assertThat(exporterPids()).as("kernel-0's exporter stopped").doesNotContainKey("e7.0");
    });
    System.out.println("slot kernel-0: " + slot("kernel", 0).getStatus().getMessage());
    assertThat(client.v1().events().inNamespace(NS).list().getItems()).as("Warning Event on kernel-0")
        .anySatisfy(e -> {
          assertThat(e.getInvolvedObject().getName()).isEqualTo("kernel-0");
          assertThat(e.getReason()).isEqualTo("OriginChanged");
        });
    step("v2 rewritten in place under live kernel-0: Failed, OriginChanged, exporter stopped");

    client.resources(AoeBootPool.class).inNamespace(NS).withName("kernel").edit(p -> {
      p.getSpec().setImage(ORIGIN.toString());
      return p;
    });
    annotate("kernel-0", SlotOrigins.RESET_ANNOTATION, "back-to-v1");
    await().atMost(SLOW).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
      AoeBootSlot s0 = slot("kernel", 0);
      assertThat(s0.getStatus().getPhase()).as(phaseOf(s0)).isEqualTo(SlotPhase.Serving);
      assertThat(s0.getStatus().getOrigin().getPath()).isEqualTo(ORIGIN.toString());
    });
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
        assertThat(GuestHost.loops()).extracting(LoopDevice::backFile).as("v2's loop released with its last slot")
            .doesNotContain(v2).contains(ORIGIN));
    assertThat(BlockIo.firstDifference(Path.of(slot("kernel", 0).getStatus().getExportPath()), origin))
        .as("kernel-0 serves v1 again, a fresh disk").isEqualTo(-1);
    Files.delete(v2);
    step("rolled back: kernel-0 on v1 again, v2's loop device released");
  }

  private void annotate(String slot, String key, String value) {
    // A merge patch without resourceVersion, as kubectl annotate sends: the operator writes the slot meanwhile.
    client.resources(AoeBootSlot.class).inNamespace(NS).withName(slot).patch(
        io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
        io.fabric8.kubernetes.client.utils.Serialization.asJson(Map.of("metadata", Map.of("annotations", Map.of(key, value)))));
  }

  private static AoeBootPool pool(String name, int shelf, int replicas) {
    AoeBootPool pool = new AoeBootPool();
    pool.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    AoeBootPoolSpec spec = new AoeBootPoolSpec();
    spec.setImage(ORIGIN.toString());
    spec.setReplicas(replicas);
    spec.setInterface(EXPORTER_NIC);
    spec.setShelf(shelf);
    spec.setCow(new CowSpec(CowBackend.DM_SNAPSHOT, 64));
    pool.setSpec(spec);
    return pool;
  }

  private void scale(String pool, int replicas) {
    client.resources(AoeBootPool.class).inNamespace(NS).withName(pool).edit(p -> {
      p.getSpec().setReplicas(replicas);
      return p;
    });
  }

  private void awaitServing(String pool, int replicas) {
    List<String> serving = java.util.stream.IntStream.range(0, replicas).mapToObj(n -> pool + "-" + n + " Serving").toList();
    await().atMost(SLOW).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
      assertThat(agentProcess.isAlive()).as("node agent is running (see its log in %s)", workDir).isTrue();
      assertThat(slots(pool)).extracting(NodeAgentScenario::phaseOf).as("slots of pool %s", pool)
          .containsExactlyElementsOf(serving);
    });
  }

  /** {@code "<name> <phase>"}, or with the message when not Serving: compact assertion output. */
  private static String phaseOf(AoeBootSlot s) {
    if (s.getStatus() == null || s.getStatus().getPhase() == null) {
      return s.getMetadata().getName() + " (no status)";
    }
    String phase = s.getMetadata().getName() + " " + s.getStatus().getPhase();
    return s.getStatus().getPhase() == SlotPhase.Serving ? phase : phase + ": " + s.getStatus().getMessage();
  }

  private List<AoeBootSlot> slots(String pool) {
    return client.resources(AoeBootSlot.class).inNamespace(NS).list().getItems().stream()
        .filter(s -> pool.equals(s.getSpec().getPool()))
        .sorted(Comparator.comparingInt(s -> s.getSpec().getSlot()))
        .toList();
  }

  private AoeBootSlot slot(String pool, int n) {
    return client.resources(AoeBootSlot.class).inNamespace(NS).withName(pool + "-" + n).get();
  }

  private static long dataSectors(String dmName) {
    SnapshotStatus.Active a = (SnapshotStatus.Active) GuestHost.DMSETUP.status(dmName);
    return a.allocatedSectors() - a.metadataSectors();
  }

  /** Exporters on the pool interface by target ({@code e7.1}) → pid; fails on two exporters of one target. */
  private static Map<String, Long> exporterPids() {
    return Exporters.on(EXPORTER_NIC).stream().collect(Collectors.toMap(Exporters.Exporter::target, Exporters.Exporter::pid));
  }

  private static List<String> concat(List<String> list, String more) {
    List<String> all = new ArrayList<>(list);
    all.add(more);
    return all;
  }

  private void startAgent(Path kubeconfig) throws IOException {
    agentStarts++;
    Path log = workDir.resolve("node-agent-" + agentStarts + ".log");
    agentProcess = GuestHost.startNodeAgent(agent, nodeName, STATE, ORIGIN.getParent(), kubeconfig, log);
    System.out.println("node agent started (pid " + agentProcess.pid() + "), log " + log);
  }

  private void stopAgent() throws InterruptedException {
    if (agentProcess != null && agentProcess.isAlive()) {
      agentProcess.destroy();
      if (!agentProcess.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
        agentProcess.destroyForcibly().waitFor();
      }
    }
  }
}
