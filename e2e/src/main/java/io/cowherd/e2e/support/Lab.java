package io.cowherd.e2e.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Everything one end-to-end run needs on this host, started in order and closed in reverse: a local
 * control plane, a reflink-capable scratch filesystem with an ext4 origin image, a private Ethernet
 * segment, and the operator and one node agent as separate JVMs (as in production); {@link #addNode}
 * adds more simulated hosts with agents of their own ({@link LabNode}).
 *
 * <p>Needs root (mount, netns, vblade). Closing kills leftover exporters on the lab's interface:
 * the agent deliberately leaves them running when it exits.
 */
public final class Lab implements AutoCloseable {
  /** The Node object the agent runs as. */
  public static final String NODE = "cowherd-e2e-node";
  /**
   * System property naming the exporter-link placement of every agent a lab started without its own
   * agent arguments starts ({@code shared} or {@code macvlan}, the agent's {@code --exporter-links});
   * unset: the agent's default. For running e2e tests by hand with macvlan links.
   */
  public static final String EXPORTER_LINKS_PROPERTY = "cowherd.lab.exporterLinks";

  /** Namespace of the node agent's heartbeat Lease (as the operator namespace of a Helm install). */
  public static final String LEASE_NAMESPACE = "default";
  /** JOSDK controller name of the node agent (logged as "'NAME' controller started"). */
  private static final String AGENT_CONTROLLER = "aoebootslot-agent";

  /** Size of the sparse scratch XFS unless a caller asks for another. */
  private static final long DEFAULT_SCRATCH_BYTES = 4L << 30;

  private final Path workDir;
  private final Path repo;
  private long scratchBytes = DEFAULT_SCRATCH_BYTES;
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private ControlPlane controlPlane;
  private ScratchFilesystem scratch;
  private NetworkLab network;
  private Path originImage;
  private ManagedProcess operator;
  private ManagedProcess agent;
  /** Port of the agent's boot endpoint (HTTP, {@code /boot/v1/ipxe?mac=...}), fixed for the lab's life. */
  private final int bootPort = freePort();

  /** Arguments every node agent of this lab gets before its start's own ({@link #start(Path, int, List)}). */
  private List<String> agentArgs = List.of();

  private Lab(Path workDir, Path repo) {
    this.workDir = workDir.toAbsolutePath();
    this.repo = repo;
  }

  /**
   * Starts a lab in {@code workDir} with an ext4 origin of {@code originMiB} MiB.
   *
   * @throws IllegalStateException when not root, or a binary or jar is missing (message names it)
   */
  public static Lab start(Path workDir, int originMiB) {
    return start(workDir, images -> OriginImages.ext4(images.resolve("origin.img"), originMiB, 1));
  }

  /**
   * Like {@link #start(Path, int)}, every node agent of the lab (this host's and {@link #addNode}'s)
   * started with {@code agentArgs} before each start's own extra arguments (e.g. {@code
   * --exporter-links macvlan}).
   */
  public static Lab start(Path workDir, int originMiB, List<String> agentArgs) {
    return start(workDir, images -> OriginImages.ext4(images.resolve("origin.img"), originMiB, 1),
        DEFAULT_SCRATCH_BYTES, agentArgs);
  }

  /**
   * Starts a lab whose origin is a copy of {@code originTemplate} (for example the bootable image
   * of {@link BootImage#cached}) instead of a fresh ext4 image.
   *
   * @throws IllegalStateException when not root, or a binary or jar is missing (message names it)
   */
  public static Lab startWithOrigin(Path workDir, Path originTemplate) {
    return startWithOrigin(workDir, originTemplate, DEFAULT_SCRATCH_BYTES);
  }

  /**
   * Like {@link #startWithOrigin(Path, Path)} on a sparse scratch XFS of {@code scratchBytes} (the
   * agent admits a reflink slot only while the filesystem has room to rewrite its whole disk, so N
   * slots of a large origin need about N × its size).
   */
  public static Lab startWithOrigin(Path workDir, Path originTemplate, long scratchBytes) {
    return start(workDir, images -> OriginImages.copyOf(originTemplate, images.resolve("origin.img")), scratchBytes);
  }

  private static Lab start(Path workDir, UnaryOperator<Path> makeOriginInImages) {
    return start(workDir, makeOriginInImages, DEFAULT_SCRATCH_BYTES);
  }

  private static Lab start(Path workDir, UnaryOperator<Path> makeOriginInImages, long scratchBytes) {
    String links = System.getProperty(EXPORTER_LINKS_PROPERTY, "");
    return start(workDir, makeOriginInImages, scratchBytes,
        links.isBlank() ? List.of() : List.of("--exporter-links", links.strip()));
  }

  private static Lab start(Path workDir, UnaryOperator<Path> makeOriginInImages, long scratchBytes,
      List<String> agentArgs) {
    if (!"root".equals(System.getProperty("user.name"))) {
      throw new IllegalStateException("the cowherd lab needs root (mount, network namespaces, vblade); run as root");
    }
    Lab lab = new Lab(workDir, findRepo());
    lab.agentArgs = List.copyOf(agentArgs);
    lab.scratchBytes = scratchBytes;
    try {
      lab.startAll(makeOriginInImages);
    } catch (RuntimeException | Error e) {
      // An Error too (a NoClassDefFoundError once): unclosed, the control plane and agent kept the JVM alive.
      lab.close();
      throw e;
    }
    return lab;
  }

  /** The repository root: the nearest ancestor of the working directory holding {@code mvnw}. */
  public static Path findRepo() {
    String configured = System.getProperty("cowherd.repo");
    if (configured != null) {
      return Path.of(configured).toAbsolutePath();
    }
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("mvnw")) && Files.isDirectory(p.resolve("crds"))) {
        return p;
      }
    }
    throw new IllegalStateException("cannot find the cowherd repository above " + Path.of("").toAbsolutePath());
  }

  private void startAll(UnaryOperator<Path> makeOriginInImages) {
    try {
      Files.createDirectories(workDir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    controlPlane = ControlPlane.start(workDir);
    toClose.add(controlPlane);
    controlPlane.applyCrds(repo.resolve("crds/yaml"));
    controlPlane.createReadyNode(NODE, Map.of("kubernetes.io/hostname", NODE));
    scratch = ScratchFilesystem.createXfs(workDir, scratchBytes);
    toClose.add(scratch);
    originImage = makeOriginInImages.apply(scratch.images());
    network = NetworkLab.create();
    toClose.add(network);
    toClose.add(this::killExporters);
    Map<String, String> env = controlPlane.podLikeEnvironment();
    // The operator namespace is where it watches the node agents' heartbeat Leases (AgentAlive on slots).
    operator = ManagedProcess.startJar("operator", repo.resolve("operator/target/cowherd-operator.jar"),
        List.of("--operator-namespace", LEASE_NAMESPACE), env, workDir.resolve("logs/operator.log"));
    toClose.add(operator);
    agent = startAgent();
    operator.awaitLogLine("cowherd operator started", Duration.ofSeconds(60));
  }

  /** Starts (or restarts) the node agent for {@link #NODE}. */
  public ManagedProcess startAgent() {
    return startAgent(List.of());
  }

  /**
   * Starts (or restarts, after {@code agent().close()}) the node agent for {@link #NODE} with
   * {@code extraArgs} after the lab's own (which include {@code --boot-port} {@link #bootPort()}, and
   * {@code --boot-address 127.0.0.1} unless {@code extraArgs} name another; e.g. {@code --dhcp-mode proxy}).
   */
  public ManagedProcess startAgent(List<String> extraArgs) {
    return startAgent(List.of(), extraArgs);
  }

  /**
   * Like {@link #startAgent(List)}, with {@code extraJvmOptions} after the usual JVM options (e.g. an
   * AOT cache).
   */
  public ManagedProcess startAgent(List<String> extraJvmOptions, List<String> extraArgs) {
    agent = startAgentProcess(NODE, scratch.stateDir(), List.of(), extraJvmOptions, extraArgs);
    return agent;
  }

  /**
   * Starts a node agent JVM for {@code nodeName} with {@code stateDir}, the lab's image root, Lease
   * namespace and boot port, run by {@code launcher} (empty: on this host's namespaces; {@code ip
   * netns exec NS}: on a {@link LabNode}'s), closed with the lab; returns once its controller runs.
   */
  ManagedProcess startAgentProcess(String nodeName, Path stateDir, List<String> launcher,
      List<String> extraJvmOptions, List<String> extraArgs) {
    List<String> args = new ArrayList<>(List.of("--node-name", nodeName, "--state-dir", stateDir.toString(),
        "--image-root", scratch.images().toString(), "--lease-namespace", LEASE_NAMESPACE,
        "--boot-port", Integer.toString(bootPort)));
    if (!extraArgs.contains("--boot-address")) {
      args.addAll(List.of("--boot-address", "127.0.0.1")); // the lab listens on loopback only
    }
    args.addAll(agentArgs);
    args.addAll(extraArgs);
    String stem = NODE.equals(nodeName) ? "node-agent" : "node-agent-" + nodeName;
    ManagedProcess p = ManagedProcess.startJar(stem, launcher, repo.resolve("node-agent/target/cowherd-node-agent.jar"),
        extraJvmOptions, args,
        controlPlane.podLikeEnvironment(),
        workDir.resolve("logs/" + stem + "-" + System.currentTimeMillis() + ".log"));
    toClose.add(p);
    p.awaitLogLine("'" + AGENT_CONTROLLER + "' controller started", Duration.ofSeconds(60));
    return p;
  }

  /**
   * Adds one more simulated host running a node agent: a Ready Node object {@code nodeName}, a
   * network namespace with its own exporter NIC on the lab's segment under the same name as the
   * lab's ({@link NetworkLab#addHostNamespace}, so one pool's {@code spec.interface} fits both), its
   * own state dir {@code state-<nodeName>} on the scratch filesystem (reflink clones need the origin's
   * filesystem; the image root is shared, as an image copied to every node at one path), the API
   * server relayed into the namespace ({@link ApiRelay}), and its agent started there. Everything
   * goes with the lab.
   *
   * @throws IllegalArgumentException when {@code nodeName} is the lab's own {@link #NODE}
   */
  public LabNode addNode(String nodeName) {
    if (NODE.equals(nodeName)) {
      throw new IllegalArgumentException(nodeName + " is the lab's own node");
    }
    controlPlane.createReadyNode(nodeName, Map.of("kubernetes.io/hostname", nodeName));
    String netns = network.addHostNamespace(network.exporterInterface());
    Path stateDir;
    try {
      stateDir = Files.createDirectories(scratch.stateDir().resolveSibling("state-" + nodeName));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    toClose.add(ApiRelay.into(netns, controlPlane.apiPort(), workDir.resolve(netns + ".api.sock"), workDir.resolve("logs")));
    LabNode node = new LabNode(this, nodeName, netns, stateDir);
    node.startAgent();
    awaitPlaceable(nodeName);
    return node;
  }

  /**
   * Waits until the operator may place new slots on {@code nodeName}: its agent's heartbeat Lease
   * shows a renewal after its creation ({@code spec.renewTime} after {@code spec.acquireTime}). The
   * operator places slots on an agent only from the first renewal it sees (operator's {@code
   * AgentHeartbeats}: a Lease left by a dead agent must not attract slots), 10 s after the agent
   * starts by default; a pool applied before lands on the other nodes.
   */
  public void awaitPlaceable(String nodeName) {
    org.awaitility.Awaitility.await("a renewal of node " + nodeName + "'s heartbeat Lease")
        .atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
        .until(() -> {
          var spec = controlPlane.client().leases().inNamespace(LEASE_NAMESPACE)
              .withName(io.cowherd.api.Names.agentLeaseName(nodeName)).get().getSpec();
          return spec.getRenewTime().isAfter(spec.getAcquireTime());
        });
  }

  /** Closes {@code c} when the lab closes, before everything started so far (e.g. a {@link BootNetwork}). */
  public void closeWithLab(AutoCloseable c) {
    toClose.add(c);
  }

  public ControlPlane controlPlane() {
    return controlPlane;
  }

  public ScratchFilesystem scratch() {
    return scratch;
  }

  public NetworkLab network() {
    return network;
  }

  public Path originImage() {
    return originImage;
  }

  public ManagedProcess operator() {
    return operator;
  }

  public ManagedProcess agent() {
    return agent;
  }

  /** Port of the node agent's boot endpoint on this host. */
  public int bootPort() {
    return bootPort;
  }

  private static int freePort() {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port for the boot endpoint", e);
    }
  }

  /** MAC address of the exporter NIC, lower-case colon notation. */
  public String exporterMac() {
    try {
      return Files.readString(Path.of("/sys/class/net", network.exporterInterface(), "address")).strip();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes a pool manifest on the lab's origin and interface, reflink backend; returns its path. */
  public Path writePoolYaml(String name, int shelf, int replicas) {
    return writePoolYamlWith(name, shelf, replicas, null);
  }

  /**
   * Like {@link #writePoolYaml} with one spec line replaced by {@code override} (for example
   * {@code "shelf: 4095"}); the key before the colon picks the line.
   */
  public Path writePoolYamlWith(String name, int shelf, int replicas, String override) {
    List<String> spec = new ArrayList<>(List.of(
        "image: " + originImage,
        "replicas: " + replicas,
        "interface: " + network.exporterInterface(),
        "shelf: " + shelf));
    if (override != null) {
      String key = override.substring(0, override.indexOf(':'));
      spec.replaceAll(line -> line.startsWith(key + ":") ? override : line);
    }
    StringBuilder yaml = new StringBuilder("apiVersion: cowherd.io/v1alpha1\nkind: AoeBootPool\nmetadata:\n  name: ")
        .append(name).append("\n  namespace: default\nspec:\n");
    spec.forEach(line -> yaml.append("  ").append(line).append('\n'));
    yaml.append("  cow:\n    backend: reflink\n");
    Path file = workDir.resolve("pool-" + name + ".yaml");
    try {
      Files.writeString(file, yaml);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  private void killExporters() {
    for (Exporters.Exporter e : Exporters.on(network.exporterInterface())) {
      ProcessHandle.of(e.pid()).ifPresent(ProcessHandle::destroyForcibly);
    }
    for (Exporters.Exporter e : Exporters.on(network.exporterInterface())) {
      ProcessHandle.of(e.pid()).ifPresent(h -> h.onExit().orTimeout(5, java.util.concurrent.TimeUnit.SECONDS).join());
    }
  }

  /** Stops the components in reverse order of start; keeps going past failures and reports the first. */
  @Override
  public void close() {
    RuntimeException first = null;
    for (int i = toClose.size() - 1; i >= 0; i--) {
      try {
        toClose.get(i).close();
      } catch (Exception e) {
        if (first == null) {
          first = new IllegalStateException("closing the lab failed", e);
        } else {
          first.addSuppressed(e);
        }
      }
    }
    toClose.clear();
    if (first != null) {
      throw first;
    }
  }

}
