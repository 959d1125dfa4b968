package io.cowherd.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.e2e.support.BootImage;
import io.cowherd.e2e.support.Commands;
import io.cowherd.e2e.support.Digests;
import io.cowherd.e2e.support.Exporters;
import io.cowherd.e2e.support.KubeNode;
import io.cowherd.e2e.support.Lab;
import io.cowherd.e2e.support.NetworkLab;
import io.cowherd.e2e.support.QemuClient;
import io.cowherd.e2e.support.ScratchFilesystem;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 8's end-to-end test on a real node ({@link KubeNode}): the images of {@code
 * hack/build-images.sh}, loaded into the node's containerd, installed with the real helm CLI; a
 * reflink pool of two on an XFS image root; two QEMU clients booted through iPXE, client 0 running
 * the boot image's write-and-verify loop ({@link BootImage#cachedWriteLoop}) while the agent pod is
 * deleted, its main process SIGKILLed, the DaemonSet rolled by a changed setting, and the operator
 * Deployment deleted and brought back by {@code helm upgrade}. After each: no I/O error on client 0,
 * its longest gap between two completed blocks printed ({@code [measure]}; the test fails above
 * {@link #STALL_LIMIT}), exporter PIDs unchanged, slots Serving. Then every block reads back, the
 * clients' stores are separate, the origin is unchanged; {@code helm uninstall} keeps stores, CRDs,
 * pool and running exporters (docs/install.md), and after {@code helm install} the new agent adopts
 * the same exporters and both clients, booted again, find their data.
 *
 * <p>Images: {@code hack/build-images.sh --skip-maven} (cached layers; the jars come from this
 * build's reactor) writes docker-archive tars to a test-owned {@code COWHERD_IMAGE_DIR}, imported
 * with {@link KubeNode#importImage} once the node runs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HelmNodeE2E {
  private static final int SHELF = 11;
  private static final String POOL = "helm-e2e";
  private static final String NS = "default";
  private static final String RELEASE_NS = "cowherd-system";
  private static final String RELEASE = "cowherd";
  private static final int IMAGE_MIB = 64;
  private static final Duration BOOT_LIMIT = Duration.ofSeconds(240);
  private static final Duration STALL_LIMIT = Duration.ofSeconds(10);
  private static final Duration HELM_TIMEOUT = Duration.ofMinutes(6);
  private static final Path WORK_DIR = Path.of("target", "e2e-helm-node").toAbsolutePath();
  private static final Path LOG_DIR = WORK_DIR.resolve("logs");
  private static final Pattern IO_OK = Pattern.compile("^COWHERD-IO (\\d+) ok sector=(\\d+)");

  private Path repo;
  private KubeNode node;
  private ScratchFilesystem scratch;
  private NetworkLab network;
  private String bootInterface;
  private Path origin;
  private String originSha256;
  private QemuClient client0;
  private QemuClient client1;
  private Map<String, Long> exportersBefore;
  private final List<String> measurements = new ArrayList<>();
  private final List<Path> exporterCgroupsBefore = new ArrayList<>();

  @BeforeAll
  void startNode() throws IOException {
    repo = Lab.findRepo();
    exporterCgroupsBefore.addAll(Exporters.cgroups());
    Path bootImage = BootImage.cachedWriteLoop(repo, IMAGE_MIB);
    // Images first, before any mount of this test exists: the build's own mount namespaces (buildah,
    // the AOT training run) would otherwise hold copies of the test's mounts, and buildah's CNI
    // state would land in the node's host mount points.
    Path imageDir = Files.createDirectories(WORK_DIR.resolve("images"));
    long t0 = System.nanoTime();
    Commands.Result built = Commands.exec(Duration.ofMinutes(30),
        List.of(repo.resolve("hack/build-images.sh").toString(), "--skip-maven"),
        Map.of("COWHERD_IMAGE_DIR", imageDir.toString()));
    assertThat(built.ok()).as("hack/build-images.sh: %s", built.stderr()).isTrue();
    record(String.format(Locale.ROOT, "[measure] hack/build-images.sh --skip-maven: %.1f s", (System.nanoTime() - t0) / 1e9));

    node = KubeNode.start(WORK_DIR);
    try (var tars = Files.list(imageDir)) {
      List<Path> archives = tars.filter(f -> f.getFileName().toString().endsWith(".tar")).sorted().toList();
      assertThat(archives).as("docker-archive tars written by hack/build-images.sh to %s", imageDir).hasSize(2);
      long t1 = System.nanoTime();
      archives.forEach(node::importImage);
      record(String.format(Locale.ROOT, "[measure] ctr images import of %s: %.1f s", archives.stream()
          .map(a -> a.getFileName().toString()).toList(), (System.nanoTime() - t1) / 1e9));
    }
    record(String.format(Locale.ROOT, "[measure] kube node cluster start %.1f s", seconds(node.startDuration())));
    scratch = ScratchFilesystem.createXfs(node.hostMounts().resolve("xfs"), 2L << 30);
    origin = scratch.images().resolve("boot.img");
    Files.copy(bootImage, origin);
    originSha256 = Digests.sha256(origin);
    network = NetworkLab.create();
    bootInterface = node.attachBootNetwork(network, "cwnb" + node.nodeName().substring(node.nodeName().length() - 6));

  }

  @AfterAll
  void stopNode() {
    measurements.forEach(System.out::println);
    for (QemuClient c : new QemuClient[] {client0, client1}) {
      if (c != null) {
        c.close();
      }
    }
    RuntimeException failure = null;
    if (node != null) {
      try {
        node.close();
        assertThat(node.leftovers()).as("what the cluster left on the host").isEmpty();
      } catch (RuntimeException | AssertionError e) {
        failure = e instanceof RuntimeException r ? r : new IllegalStateException(e);
      }
    }
    // Exporter cgroups the agent made on the host (outside the node's cgroup root, by design): empty now.
    Exporters.removeCgroupsExcept(exporterCgroupsBefore);
    if (scratch != null) {
      scratch.close();
    }
    if (network != null) {
      network.close();
    }
    if (failure != null) {
      throw failure;
    }
  }

  @Test
  @Order(1)
  void helmInstallStartsTheOperatorAndTheAgentOnTheNode() {
    long t0 = System.nanoTime();
    helmInstall();
    record(String.format(Locale.ROOT, "[measure] helm install --wait: %.1f s", (System.nanoTime() - t0) / 1e9));
    Pod agent = agentPod();
    assertThat(agent.getSpec().getNodeName()).isEqualTo(node.nodeName());
    assertThat(agent.getSpec().getHostPID()).as("agent pod hostPID").isTrue();
  }

  @Test
  @Order(2)
  void aReflinkPoolOfTwoServesAndBothClientsBootClientZeroWrites() throws IOException {
    Path pool = WORK_DIR.resolve("pool.yaml");
    Files.writeString(pool, """
        apiVersion: cowherd.io/v1alpha1
        kind: AoeBootPool
        metadata: {name: %s, namespace: %s}
        spec:
          image: %s
          replicas: 2
          interface: %s
          shelf: %d
          cow: {backend: reflink}
        """.formatted(POOL, NS, origin, bootInterface, SHELF));
    node.kubectlOk("apply", "-f", pool.toString());
    awaitServing();
    exportersBefore = exporterPids();
    assertThat(exportersBefore).containsOnlyKeys("e" + SHELF + ".0", "e" + SHELF + ".1");

    client0 = QemuClient.powerOn(network, LOG_DIR, "client-0", new AoeTarget(SHELF, 0), QemuClient.macFor(0), null);
    client1 = QemuClient.powerOn(network, LOG_DIR, "client-1", new AoeTarget(SHELF, 1), QemuClient.macFor(1), null);
    for (QemuClient c : List.of(client0, client1)) {
      await().atMost(BOOT_LIMIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
          assertThat(ioLines(c)).as("%s writes blocks; %s", c, c.tail(20)).hasSizeGreaterThan(10));
      assertThat(c.line(QemuClient.MARKER_WRITTEN)).as(c.tail(20)).isPresent();
    }
  }

  @Test
  @Order(3)
  void clientZeroKeepsWritingThroughEveryAgentAndOperatorEvent() {
    event("kubectl delete pod (agent)", () -> {
      String uid = agentPod().getMetadata().getUid();
      node.kubectlOk("delete", "pod", "-n", RELEASE_NS, agentPod().getMetadata().getName(), "--wait=false");
      await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500))
          .until(() -> oneAgentReady(p -> !p.getMetadata().getUid().equals(uid)));
    });
    event("SIGKILL of the agent container's main process", () -> {
      Pod pod = agentPod();
      int restarts = pod.getStatus().getContainerStatuses().getFirst().getRestartCount();
      String containerId = pod.getStatus().getContainerStatuses().getFirst().getContainerID().replaceFirst("^containerd://", "");
      long pid = taskPid(containerId);
      Commands.run("kill", "-KILL", Long.toString(pid));
      await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500))
          .until(() -> oneAgentReady(p -> p.getStatus().getContainerStatuses().getFirst().getRestartCount() > restarts));
    });
    event("helm upgrade with a changed agent setting (logging.level=DEBUG)", () -> {
      helmUpgrade("--set", "logging.level=DEBUG");
      node.kubectlOk("rollout", "status", "-n", RELEASE_NS, "daemonset/" + RELEASE + "-node-agent", "--timeout=300s");
    });
    event("delete the operator Deployment, then helm upgrade", () -> {
      node.kubectlOk("delete", "deployment", "-n", RELEASE_NS, RELEASE + "-operator", "--wait=true");
      helmUpgrade();
      node.kubectlOk("rollout", "status", "-n", RELEASE_NS, "deployment/" + RELEASE + "-operator", "--timeout=300s");
    });
  }

  @Test
  @Order(4)
  void everyBlockReadsBackTheStoresAreSeparateAndTheOriginIsUnchanged() throws IOException {
    client0.close();
    client1.close();
    Map<Long, Long> lastBlockBySector = lastBlocks(client0);
    long maxBlock = lastBlockBySector.values().stream().mapToLong(Long::longValue).max().orElseThrow();
    // Block maxBlock + 1 may have been in flight when QEMU stopped: its sector may hold either.
    long inFlightSector = sectorOf(maxBlock + 1);
    Path store0 = cowStore(0);
    Path store1 = cowStore(1);
    List<String> wrong = new ArrayList<>();
    try (RandomAccessFile f = new RandomAccessFile(store0.toFile(), "r")) {
      for (Map.Entry<Long, Long> e : lastBlockBySector.entrySet()) {
        if (e.getKey() == inFlightSector) {
          continue;
        }
        byte[] sector = new byte[BootImage.SECTOR_BYTES];
        f.seek(e.getKey() * BootImage.SECTOR_BYTES);
        f.readFully(sector);
        String text = new String(sector, StandardCharsets.US_ASCII).replace("\0", "").strip();
        String expected = "COWHERD-BLOCK target=e" + SHELF + ".0 n=" + e.getValue();
        if (!text.equals(expected)) {
          wrong.add("sector " + e.getKey() + ": '" + text + "' instead of '" + expected + "'");
        }
      }
    }
    record(String.format(Locale.ROOT, "[measure] client 0 wrote %d blocks; %d sectors verified", maxBlock,
        lastBlockBySector.size()));
    assertThat(wrong).as("blocks of client 0 that did not read back").isEmpty();
    assertThat(new String(Files.readAllBytes(store1), StandardCharsets.ISO_8859_1))
        .as("client 1's store holds none of client 0's blocks").doesNotContain("target=e" + SHELF + ".0 ");
    assertThat(Digests.sha256(origin)).as("origin byte-identical").isEqualTo(originSha256);
  }

  @Test
  @Order(5)
  void helmUninstallKeepsTheStoresAndAReinstallGivesBothClientsTheirDisksBack() {
    Map<Integer, String> markers = Map.of(0, BootImage.readMarker(cowStore(0)).orElseThrow(),
        1, BootImage.readMarker(cowStore(1)).orElseThrow());
    Path store0 = cowStore(0);
    Path store1 = cowStore(1);
    node.helmOk(HELM_TIMEOUT, "uninstall", RELEASE, "-n", RELEASE_NS, "--wait", "--timeout", "5m");
    await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(500))
        .until(() -> node.client().pods().inNamespace(RELEASE_NS).list().getItems().isEmpty());
    // docs/install.md, "Uninstalling": COW stores, CRDs (crds.keep) and pools stay; exporters keep running.
    assertThat(store0).as("COW stores stay after helm uninstall").exists();
    assertThat(store1).exists();
    assertThat(node.kubectl(Duration.ofSeconds(30), "get", "crd", "aoebootpools.cowherd.io").ok()).as("CRD kept").isTrue();
    assertThat(node.kubectl(Duration.ofSeconds(30), "get", "aoebootpool", POOL, "-n", NS).ok()).as("pool kept").isTrue();
    assertThat(exporterPids()).as("exporters keep running after helm uninstall").isEqualTo(exportersBefore);
    record("[measure] after helm uninstall: exporters " + exporterPids() + " still running, stores, CRDs and pool kept");

    helmInstall();
    awaitServing();
    assertThat(exporterPids()).as("the reinstalled agent adopts the running exporters").isEqualTo(exportersBefore);
    for (int slot = 0; slot < 2; slot++) {
      int n = slot;
      try (QemuClient again = QemuClient.powerOn(network, LOG_DIR, "client-" + n + "-after-reinstall",
          new AoeTarget(SHELF, n), QemuClient.macFor(n), null)) {
        await().atMost(BOOT_LIMIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
            assertThat(again.after(QemuClient.MARKER_FOUND)).as(again.tail(20)).isPresent());
        assertThat(again.after(QemuClient.MARKER_FOUND)).as("client %d finds its marker after reinstall", n)
            .hasValueSatisfying(m -> assertThat(m).startsWith(markers.get(n)));
      }
    }
  }

  // --- steps ----------------------------------------------------------------------------------------

  private void helmInstall() {
    node.helmOk(HELM_TIMEOUT, "install", RELEASE, repo.resolve("helm/cowherd").toString(), "-n", RELEASE_NS,
        "--create-namespace", "--wait", "--timeout", "5m",
        "--set", "image.pullPolicy=Never",
        "--set", "agent.stateDir=" + scratch.stateDir(),
        "--set", "agent.imageRoots[0]=" + scratch.images());
    await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500)).until(() -> oneAgentReady(p -> true));
  }

  private void helmUpgrade(String... extra) {
    List<String> args = new ArrayList<>(List.of("upgrade", RELEASE, repo.resolve("helm/cowherd").toString(), "-n",
        RELEASE_NS, "--reuse-values", "--wait", "--timeout", "5m"));
    args.addAll(List.of(extra));
    node.helmOk(HELM_TIMEOUT, args.toArray(String[]::new));
  }

  /**
   * Runs one disruptive event while client 0 writes; then waits for the slots to be Serving and for
   * 20 more completed blocks, and checks and prints what client 0 saw.
   */
  private void event(String name, Runnable action) {
    int before = ioLines(client0).size();
    long t0 = System.nanoTime();
    action.run();
    awaitServing();
    double recovered = (System.nanoTime() - t0) / 1e9;
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .until(() -> ioLines(client0).size() >= before + 20);
    List<QemuClient.ConsoleLine> lines = ioLines(client0);
    Duration stall = Duration.ZERO;
    for (int i = Math.max(1, before); i < lines.size(); i++) {
      Duration gap = lines.get(i).sinceStart().minus(lines.get(i - 1).sinceStart());
      stall = gap.compareTo(stall) > 0 ? gap : stall;
    }
    record(String.format(Locale.ROOT, "[measure] %-62s longest I/O stall of client 0 %.2f s (event done in %.1f s)",
        name, seconds(stall), recovered));
    assertThat(client0.console()).as("I/O errors on client 0 after: %s", name)
        .noneMatch(l -> l.text().contains("COWHERD-IO-ERROR") || l.text().contains("I/O error"));
    assertThat(stall).as("longest I/O stall of client 0 after: %s", name).isLessThanOrEqualTo(STALL_LIMIT);
    assertThat(exporterPids()).as("exporter PIDs after: %s", name).isEqualTo(exportersBefore);
  }

  private void awaitServing() {
    await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
      List<AoeBootSlot> slots = slots();
      assertThat(slots).as("slots: %s", slots.stream().map(s -> s.getMetadata().getName() + " "
          + (s.getStatus() == null ? "no status" : s.getStatus().getPhase() + " " + s.getStatus().getMessage())).toList())
          .hasSize(2)
          .allSatisfy(s -> assertThat(s.getStatus().getPhase()).isEqualTo(SlotPhase.Serving));
    });
  }

  // --- reading the node and the clients ------------------------------------------------------------

  private Pod agentPod() {
    List<Pod> pods = agentPods();
    assertThat(pods).as("agent pods").hasSize(1);
    return pods.getFirst();
  }

  /** The agent pods not being deleted (none while the DaemonSet replaces one). */
  private List<Pod> agentPods() {
    return node.client().pods().inNamespace(RELEASE_NS)
        .withLabel("app.kubernetes.io/component", "node-agent").list().getItems().stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .toList();
  }

  /** True when exactly one agent pod runs, it is Ready and {@code also} holds for it. */
  private boolean oneAgentReady(java.util.function.Predicate<Pod> also) {
    List<Pod> pods = agentPods();
    return pods.size() == 1 && ready(pods.getFirst()) && also.test(pods.getFirst());
  }

  private static boolean ready(Pod pod) {
    return pod.getStatus() != null && pod.getStatus().getConditions() != null
        && pod.getStatus().getConditions().stream().anyMatch((PodCondition c) -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  /** PID of a container's main process, from the node's containerd ({@code ctr tasks ls}). */
  private long taskPid(String containerId) {
    String out = Commands.run("ctr", "--address", node.containerdSocket().toString(), "-n", "k8s.io", "tasks", "ls");
    return out.lines().map(l -> l.trim().split("\\s+")).filter(f -> f.length >= 2 && f[0].equals(containerId))
        .mapToLong(f -> Long.parseLong(f[1])).findFirst()
        .orElseThrow(() -> new IllegalStateException("no task " + containerId + " in: " + out));
  }

  private Map<String, Long> exporterPids() {
    return Exporters.on(bootInterface).stream()
        .collect(Collectors.toMap(Exporters.Exporter::target, Exporters.Exporter::pid, (a, b) -> -1L, TreeMap::new));
  }

  private List<AoeBootSlot> slots() {
    return node.client().resources(AoeBootSlot.class).inNamespace(NS).list().getItems().stream()
        .sorted(Comparator.comparingInt(s -> s.getSpec().getSlot()))
        .toList();
  }

  private Path cowStore(int slot) {
    return Path.of(slots().get(slot).getStatus().getCowStorePath());
  }

  private static List<QemuClient.ConsoleLine> ioLines(QemuClient c) {
    return c.console().stream().filter(l -> IO_OK.matcher(l.text()).find()).toList();
  }

  /** Sector → the last block number client 0 completed there (from its COWHERD-IO lines). */
  private static Map<Long, Long> lastBlocks(QemuClient c) {
    Map<Long, Long> last = new TreeMap<>();
    for (QemuClient.ConsoleLine l : ioLines(c)) {
      Matcher m = IO_OK.matcher(l.text());
      if (m.find()) {
        last.merge(Long.parseLong(m.group(2)), Long.parseLong(m.group(1)), Math::max);
      }
    }
    return last;
  }

  private long sectorOf(long block) {
    long sizeSectors = IMAGE_MIB * 2048L;
    return BootImage.markerSector(sizeSectors) + 1 + (block - 1) % (BootImage.MARKER_AREA_SECTORS - 1);
  }

  private void record(String line) {
    System.out.println(line);
    measurements.add(line);
  }

  private static double seconds(Duration d) {
    return d.toMillis() / 1000.0;
  }
}
