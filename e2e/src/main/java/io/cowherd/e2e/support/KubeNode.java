package io.cowherd.e2e.support;

import io.fabric8.kubeapitest.cert.CertManager;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.bouncycastle.asn1.x509.GeneralName;

/**
 * A real single-node Kubernetes cluster for end-to-end tests, made only of processes, namespaces,
 * mounts and cgroups this class creates and removes:
 *
 * <pre>
 *  host (root namespaces, loopback only)          node netns cwn-ID + private mount namespace
 *  etcd, kube-apiserver 127.0.0.1:P               containerd (test-owned root/state/socket)
 *  kube-controller-manager, kube-scheduler        kubelet (cgroupfs, cgroup root /cowherd-node-ID)
 *  socat UNIX-LISTEN:apiserver.sock ──unix──▶     socat TCP-LISTEN :6443 (lo, cni0 10.88.0.1)
 *                                                 cni0 bridge (CNI bridge + host-local), lo 10.89.0.1
 *                                                 boot NIC veth (see attachBootNetwork)
 * </pre>
 *
 * <p>Facts this rests on (issue 8's probe of this machine kind):
 *
 * <ul>
 *   <li>kube-api-test always passes {@code --disable-admission-plugins ServiceAccount} after the
 *       caller's flags, so pods would get no service account token; the cluster therefore runs
 *       etcd and kube-apiserver itself, with the same pinned binaries and kube-api-test's
 *       certificate generator, listening on loopback only.
 *   <li>containerd 1.6 cannot lower {@code oom_score_adj} without CAP_SYS_RESOURCE:
 *       {@code restrict_oom_score_adj = true}; it cannot report the cgroup driver: kubelet
 *       {@code cgroupDriver: cgroupfs}.
 *   <li>The kubelet writes {@code vm.overcommit_memory}, {@code kernel.panic} and {@code
 *       kernel.panic_on_oops} unless {@code protectKernelDefaults: true}, and then refuses to start
 *       unless they already hold its values: the node's private mount namespace bind-mounts files
 *       holding those values over the three {@code /proc/sys} files, so the host's sysctls are never
 *       read as wrong nor written.
 *   <li>Unix sockets cross network namespaces: the kubelet, and pods, reach the API server through
 *       a socat relay into the node namespace, at {@code 127.0.0.1:6443} (host network), {@link
 *       #POD_API_HOST}{@code :6443} (pod network), and at the {@code kubernetes} Service's ClusterIP
 *       {@link #KUBERNETES_SERVICE_IP}{@code :443}, a local address of the node namespace, so pods
 *       find the API server as on any cluster (the certificate names all three). There is no
 *       kube-proxy: other ClusterIP Services do not work.
 * </ul>
 *
 * <p>The node's mount namespace is a slave of the host's: mounts the test makes on the host (XFS
 * image roots, loop mounts) appear in pods' hostPath volumes; mounts made inside the node never
 * reach the host. Directories the kubelet and containerd hard-code ({@code /var/lib/kubelet},
 * {@code /var/lib/cni}, {@code /var/log/pods}, {@code /var/log/containers}, {@code
 * /run/containerd}, {@code /run/netns}) are private tmpfs mounts there.
 *
 * <p>What differs on production nodes: cgroup v2 and systemd as PID 1 ({@code cgroupDriver:
 * systemd}), kube-proxy and a cluster DNS, a runtime that may lower {@code oom_score_adj}, the
 * kubelet writing its sysctls on the host itself. See docs/kube-node-tests.md.
 */
public final class KubeNode implements AutoCloseable {
  /** Port of the API server inside the node's network namespace (loopback and {@link #POD_API_HOST}). */
  public static final int NODE_API_PORT = 6443;
  /** The node namespace's address on the pod bridge: pods reach the API server here. */
  public static final String POD_API_HOST = "10.88.0.1";
  /**
   * ClusterIP of the {@code kubernetes} Service (first address of {@code
   * --service-cluster-ip-range}); port 443 there reaches the API server from every pod of the node.
   */
  public static final String KUBERNETES_SERVICE_IP = "10.0.0.1";
  /** Pod subnet of the CNI bridge in the node namespace. */
  public static final String POD_SUBNET = "10.88.0.0/24";
  /** The node's InternalIP (on the node namespace's loopback device); hostNetwork pods have it. */
  public static final String NODE_IP = "10.89.0.1";
  /** Reference of the pause image imported into the node's containerd. */
  public static final String PAUSE_IMAGE = "cowherd.local/pause:1";
  /** CNI plugins of Debian's containernetworking-plugins. */
  public static final Path CNI_BIN_DIR = Path.of("/usr/lib/cni");

  /** Sysctls the kubelet insists on (pkg/kubelet/cm container_manager_linux.go setupKernelTunables). */
  static final Map<String, String> KUBELET_SYSCTLS =
      Map.of("vm/overcommit_memory", "1", "kernel/panic", "10", "kernel/panic_on_oops", "1");
  /** Host directories containerd, CNI and the kubelet use regardless of configuration. */
  static final List<Path> PRIVATE_DIRS =
      List.of(Path.of("/var/lib/kubelet"), Path.of("/var/lib/cni"), Path.of("/var/log/pods"),
          Path.of("/var/log/containers"), Path.of("/run/containerd"), Path.of("/run/netns"));

  /**
   * Host-wide registry of running nodes (one file per node, holding its JVM's pid) and of the
   * {@link #PRIVATE_DIRS} a node had to create on the host ({@code created-dirs}). Several nodes may run
   * at once on one host (a test run next to {@code hack/kube-node.sh}); removing a directory that
   * is a mount point in another node's namespace detaches that node's mount (rmdir(2) on a mount
   * point of another mount namespace), so such directories are removed only by the last node to stop.
   */
  static final Path REGISTRY = Path.of("/run/cowherd-kube-node");

  private static final Duration START_LIMIT = Duration.ofSeconds(180);
  private static final Duration CMD_TIMEOUT = Duration.ofSeconds(60);

  private final String id;
  private final Path workDir;
  private final String netns;
  private final String cgroupName;
  private final String nodeName;
  private final Map<String, String> hostSysctlsBefore = new LinkedHashMap<>();
  private final List<ManagedProcess> daemons = new ArrayList<>();
  private final List<Path> createdHostDirs = new ArrayList<>();
  private final List<Path> cgroupDirs = new ArrayList<>();
  private ManagedProcess holder;
  private String nodeNetnsInode;
  private String nodeMountInode;
  private int apiPort;
  private Path kubeconfig;
  private KubernetesClient client;
  private ManagedProcess kubelet;
  private ManagedProcess containerd;
  private Duration startDuration;
  private boolean closed;
  private boolean sharedMount;

  private KubeNode(Path workDir) {
    byte[] random = new byte[3];
    new SecureRandom().nextBytes(random);
    this.id = HexFormat.of().formatHex(random);
    this.workDir = workDir.toAbsolutePath().resolve("kubenode-" + id);
    this.netns = "cwn-" + id;
    this.cgroupName = "cowherd-node-" + id;
    this.nodeName = "cowherd-node-" + id;
  }

  /**
   * Starts the whole cluster under {@code workDir/kubenode-<id>} and waits until the node is Ready
   * and the default ServiceAccount exists.
   *
   * @throws IllegalStateException when a binary is missing (names the script or package to install)
   * @throws Commands.CommandException when a set-up command fails (not root, no netns support)
   * @throws org.awaitility.core.ConditionTimeoutException when a component does not come up in time
   */
  public static KubeNode start(Path workDir) {
    KubeNode node = new KubeNode(workDir);
    long t0 = System.nanoTime();
    try {
      node.startAll();
    } catch (RuntimeException | Error e) {
      try {
        node.close();
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    node.startDuration = Duration.ofNanos(System.nanoTime() - t0);
    System.out.printf("[measure] kube node cluster start (etcd to node Ready): %.1f s%n", node.startDuration.toMillis() / 1000.0);
    return node;
  }

  /** Checks every binary and package the cluster needs, naming how to get a missing one. */
  static void requireBinaries() {
    for (String bin : List.of("etcd", "kube-apiserver", "kubectl")) {
      requireExecutable(ControlPlane.binaryDir().resolve(bin), "run hack/kube-test-binaries.sh");
    }
    for (String bin : List.of("kubelet", "kube-controller-manager", "kube-scheduler", "helm")) {
      requireExecutable(ControlPlane.binaryDir().resolve(bin), "run hack/kube-node-binaries.sh");
    }
    for (String bin : List.of("/usr/bin/containerd", "/usr/bin/ctr", "/usr/sbin/runc", "/usr/bin/socat", "/usr/bin/gcc",
        "/usr/bin/nsenter", "/usr/bin/unshare")) {
      requireExecutable(Path.of(bin), "run hack/install-deps.sh");
    }
    for (String plugin : List.of("bridge", "host-local", "loopback")) {
      requireExecutable(CNI_BIN_DIR.resolve(plugin), "run hack/install-deps.sh (containernetworking-plugins)");
    }
  }

  private static void requireExecutable(Path path, String hint) {
    if (!Files.isExecutable(path)) {
      throw new IllegalStateException(path + " is missing: " + hint);
    }
  }

  private void startAll() {
    requireBinaries();
    try {
      Files.createDirectories(workDir);
      for (String key : KUBELET_SYSCTLS.keySet()) {
        hostSysctlsBefore.put(key, Files.readString(Path.of("/proc/sys", key)).strip());
      }
      startControlPlane();
      startNodeNamespaces();
      startContainerd();
      startKubelet();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // --- control plane on the host's loopback ----------------------------------------------------

  private void startControlPlane() throws IOException {
    Path pki = Files.createDirectories(workDir.resolve("pki"));
    // kube-apiserver --cert-dir picks up apiserver.crt/.key; the serving certificate names every
    // address a client of this cluster dials.
    CertManager.generateKeyAndCertificate("CN=cowherd-kube-node", pki.resolve("apiserver.key").toFile(),
        pki.resolve("apiserver.crt").toFile(),
        new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
        new GeneralName(GeneralName.iPAddress, POD_API_HOST),
        new GeneralName(GeneralName.iPAddress, "10.0.0.1"),
        new GeneralName(GeneralName.dNSName, "localhost"),
        new GeneralName(GeneralName.dNSName, "kubernetes.default.svc"));
    CertManager.generateKeyAndCertificate("O=system:masters,CN=cowherd-test-admin", pki.resolve("client.key").toFile(),
        pki.resolve("client.crt").toFile());

    int etcdPort = freeLoopbackPort();
    int etcdPeerPort = freeLoopbackPort();
    String etcdUrl = "http://127.0.0.1:" + etcdPort;
    String peerUrl = "http://127.0.0.1:" + etcdPeerPort;
    daemon("etcd", List.of(ControlPlane.binaryDir().resolve("etcd").toString(),
        "--name=default", "--data-dir=" + workDir.resolve("etcd"),
        "--listen-client-urls=" + etcdUrl, "--advertise-client-urls=" + etcdUrl,
        "--listen-peer-urls=" + peerUrl, "--initial-advertise-peer-urls=" + peerUrl,
        "--initial-cluster=default=" + peerUrl, "--log-level=warn"));
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    awaitUp("etcd", () -> {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(etcdUrl + "/health")).timeout(Duration.ofSeconds(2)).build(),
          HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 && r.body().contains("true");
    });

    apiPort = freeLoopbackPort();
    daemon("kube-apiserver", List.of(ControlPlane.binaryDir().resolve("kube-apiserver").toString(),
        "--bind-address=" + ControlPlane.BIND_ADDRESS, "--secure-port=" + apiPort, "--cert-dir=" + pki,
        "--etcd-servers=" + etcdUrl, "--authorization-mode=Node,RBAC",
        "--client-ca-file=" + pki.resolve("client.crt"),
        "--service-account-issuer=https://kubernetes.default.svc",
        "--service-account-signing-key-file=" + pki.resolve("apiserver.key"),
        "--service-account-key-file=" + pki.resolve("apiserver.key"),
        "--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true"));
    kubeconfig = writeKubeconfig(workDir.resolve("kubeconfig"), "https://127.0.0.1:" + apiPort, pki);
    // The kubelet's kubeconfig dials the relay inside the node namespace.
    writeKubeconfig(workDir.resolve("kubeconfig.node"), "https://127.0.0.1:" + NODE_API_PORT, pki);
    client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(kubeconfig))).build();
    awaitUp("kube-apiserver", () -> "ok".equals(client.raw("/readyz")));

    daemon("kube-controller-manager", List.of(ControlPlane.binaryDir().resolve("kube-controller-manager").toString(),
        "--kubeconfig=" + kubeconfig, "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0",
        "--root-ca-file=" + pki.resolve("apiserver.crt"),
        "--service-account-private-key-file=" + pki.resolve("apiserver.key"),
        "--use-service-account-credentials=false"));
    daemon("kube-scheduler", List.of(ControlPlane.binaryDir().resolve("kube-scheduler").toString(),
        "--kubeconfig=" + kubeconfig, "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0"));
  }

  private static Path writeKubeconfig(Path file, String server, Path pki) throws IOException {
    Base64.Encoder b64 = Base64.getEncoder();
    String yaml =
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: cowherd-node
          cluster:
            server: %s
            certificate-authority-data: %s
        users:
        - name: admin
          user:
            client-certificate-data: %s
            client-key-data: %s
        contexts:
        - name: cowherd-node
          context: {cluster: cowherd-node, user: admin}
        current-context: cowherd-node
        """
            .formatted(server, b64.encodeToString(Files.readAllBytes(pki.resolve("apiserver.crt"))),
                b64.encodeToString(Files.readAllBytes(pki.resolve("client.crt"))),
                b64.encodeToString(Files.readAllBytes(pki.resolve("client.key"))));
    Files.writeString(file, yaml);
    return file;
  }

  // --- node namespaces --------------------------------------------------------------------------

  private void startNodeNamespaces() throws IOException {
    Commands.run("ip", "netns", "add", netns);
    Commands.run("ip", "-n", netns, "link", "set", "dev", "lo", "up");
    // The node's InternalIP sits on the namespace's loopback device (no dummy module needed).
    Commands.run("ip", "-n", netns, "addr", "add", NODE_IP + "/32", "dev", "lo");
    // The "kubernetes" Service's ClusterIP is a local address of the node namespace, served by the
    // relay: pods use the KUBERNETES_SERVICE_HOST/PORT the kubelet gives them, without kube-proxy.
    Commands.run("ip", "-n", netns, "addr", "add", KUBERNETES_SERVICE_IP + "/32", "dev", "lo");
    // The CNI bridge exists before the first pod so that hostNetwork pods can reach POD_API_HOST.
    Commands.run("ip", "-n", netns, "link", "add", "cni0", "type", "bridge");
    Commands.run("ip", "-n", netns, "addr", "add", POD_API_HOST + "/24", "dev", "cni0");
    Commands.run("ip", "-n", netns, "link", "set", "dev", "cni0", "up");

    // This host's / is a private mount: a host mount made after the node's namespace exists would
    // not appear there. hostMounts() is a shared mount point of ours, so filesystems the test mounts
    // under it later propagate into the node (and its pods' hostPath volumes).
    Path shared = Files.createDirectories(hostMounts());
    Commands.run("mount", "--bind", shared.toString(), shared.toString());
    sharedMount = true;
    Commands.run("mount", "--make-shared", shared.toString());

    // One process holds the node's network and (slave) mount namespace; every node daemon enters both.
    holder = daemon("namespace-holder", List.of("nsenter", "--net=/run/netns/" + netns, "--",
        "unshare", "--mount", "--propagation", "slave", "--", "sleep", "infinity"));
    String hostMount = Files.readSymbolicLink(Path.of("/proc/self/ns/mnt")).toString();
    awaitUp("node mount namespace", () -> !hostMount.equals(nsOf(holder.pid(), "mnt").orElse(hostMount)));
    nodeMountInode = nsOf(holder.pid(), "mnt").orElseThrow();
    nodeNetnsInode = nsOf(holder.pid(), "net").orElseThrow();
    if (nodeNetnsInode.equals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString())) {
      throw new IllegalStateException("the namespace holder runs in the host's network namespace");
    }

    // As on a systemd host, every mount of the node is shared (within the node's namespace only: its
    // copies of the host's private mounts have no peers outside). The kubelet and containerd need it
    // for HostToContainer and Bidirectional mount propagation (e.g. the agent's /dev).
    inNode("mount", "--make-rshared", "/");
    register();
    for (Path dir : PRIVATE_DIRS) {
      if (!Files.exists(dir)) {
        Files.createDirectories(dir);
        createdHostDirs.add(dir);
        Files.writeString(REGISTRY.resolve("created-dirs"), dir + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      }
      inNode("mount", "-t", "tmpfs", "-o", "mode=0755", "cowherd-node", dir.toString());
    }
    Path sysctls = Files.createDirectories(workDir.resolve("sysctl"));
    for (Map.Entry<String, String> sysctl : KUBELET_SYSCTLS.entrySet()) {
      Path value = sysctls.resolve(sysctl.getKey().replace('/', '.'));
      Files.writeString(value, sysctl.getValue() + "\n");
      inNode("mount", "--bind", value.toString(), "/proc/sys/" + sysctl.getKey());
    }

    // The kubelet's cgroup root, in every cgroup hierarchy (cgroup v1 here, plus the unified one).
    for (Path hierarchy : cgroupHierarchies()) {
      Path dir = hierarchy.resolve(cgroupName);
      Files.createDirectories(dir);
      cgroupDirs.add(dir);
      if (Files.exists(hierarchy.resolve("cpuset.cpus"))) {
        Files.writeString(dir.resolve("cpuset.cpus"), Files.readString(hierarchy.resolve("cpuset.cpus")).strip());
        Files.writeString(dir.resolve("cpuset.mems"), Files.readString(hierarchy.resolve("cpuset.mems")).strip());
      }
    }

    Path socket = workDir.resolve("apiserver.sock");
    daemon("socat-host", List.of("socat", "UNIX-LISTEN:" + socket + ",fork,mode=600", "TCP:127.0.0.1:" + apiPort));
    awaitUp("host relay socket", () -> Files.exists(socket));
    daemon("socat-node", nodeArgv(List.of("socat", "TCP-LISTEN:" + NODE_API_PORT + ",reuseaddr,fork", "UNIX-CONNECT:" + socket)));
    daemon("socat-node-service", nodeArgv(List.of("socat",
        "TCP-LISTEN:443,bind=" + KUBERNETES_SERVICE_IP + ",reuseaddr,fork", "UNIX-CONNECT:" + socket)));
  }

  /** Every mounted cgroup hierarchy (v1 controllers, named and the v2 unified one) from mountinfo. */
  static List<Path> cgroupHierarchies() {
    List<Path> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
        String[] halves = line.split(" - ", 2);
        if (halves.length < 2) {
          continue;
        }
        String fstype = halves[1].split(" ")[0];
        if (fstype.equals("cgroup") || fstype.equals("cgroup2")) {
          out.add(Path.of(halves[0].split(" ")[4]));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  // --- containerd and kubelet --------------------------------------------------------------------

  private void startContainerd() throws IOException {
    Path dir = Files.createDirectories(workDir.resolve("containerd"));
    Path netd = Files.createDirectories(workDir.resolve("cni"));
    Path ipam = workDir.resolve("cni-ipam");
    Files.writeString(netd.resolve("10-cowherd.conflist"),
        """
        {
          "cniVersion": "0.4.0",
          "name": "cowherd-pods",
          "plugins": [
            {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
             "ipam": {"type": "host-local", "dataDir": "%s", "ranges": [[{"subnet": "%s", "gateway": "%s"}]],
                      "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "loopback"}
          ]
        }
        """.formatted(ipam, POD_SUBNET, POD_API_HOST));
    Path config = dir.resolve("config.toml");
    Files.writeString(config,
        """
        version = 2
        root = "%1$s/root"
        state = "%1$s/state"
        # The opt plugin installs into /opt/containerd on the host; tracing is not used.
        disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp",
                            "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                            "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
        [grpc]
          address = "%1$s/containerd.sock"
        [ttrpc]
          address = "%1$s/containerd.sock.ttrpc"
        [debug]
          address = ""
        [plugins."io.containerd.grpc.v1.cri"]
          sandbox_image = "%2$s"
          # No CAP_SYS_RESOURCE on this machine kind: runc may not lower oom_score_adj.
          restrict_oom_score_adj = true
          disable_apparmor = true
          disable_hugetlb_controller = true
          stream_server_address = "127.0.0.1"
          [plugins."io.containerd.grpc.v1.cri".containerd]
            snapshotter = "overlayfs"
            default_runtime_name = "runc"
            [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
              runtime_type = "io.containerd.runc.v2"
              [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
                SystemdCgroup = false
          [plugins."io.containerd.grpc.v1.cri".cni]
            bin_dir = "%3$s"
            conf_dir = "%4$s"
            max_conf_num = 1
        """.formatted(dir, PAUSE_IMAGE, CNI_BIN_DIR, netd));
    containerd = daemon("containerd", nodeArgv(List.of("containerd", "--config", config.toString())));
    awaitUp("containerd", () -> ctr("version").ok());
    Path pause = ImageArchive.pause(workDir.getParent().resolve("cowherd-pause.tar"), PAUSE_IMAGE);
    importImage(pause);
  }

  private void startKubelet() throws IOException {
    Path config = workDir.resolve("kubelet.yaml");
    Files.writeString(config,
        """
        apiVersion: kubelet.config.k8s.io/v1beta1
        kind: KubeletConfiguration
        containerRuntimeEndpoint: unix://%s
        cgroupDriver: cgroupfs
        cgroupRoot: /%s
        cgroupsPerQOS: true
        failCgroupV1: false
        failSwapOn: false
        protectKernelDefaults: true
        address: 127.0.0.1
        readOnlyPort: 0
        healthzBindAddress: 127.0.0.1
        authentication:
          anonymous: {enabled: false}
          webhook: {enabled: false}
        authorization:
          mode: AlwaysAllow
        resolvConf: ""
        registerNode: true
        syncFrequency: 10s
        fileCheckFrequency: 10s
        imageGCHighThresholdPercent: 100
        imageGCLowThresholdPercent: 99
        evictionHard:
          memory.available: "50Mi"
          nodefs.available: "1%%"
          imagefs.available: "1%%"
          nodefs.inodesFree: "1%%"
        """.formatted(workDir.resolve("containerd").resolve("containerd.sock"), cgroupName));
    kubelet = daemon("kubelet", nodeArgv(List.of(ControlPlane.binaryDir().resolve("kubelet").toString(),
        "--config=" + config, "--kubeconfig=" + workDir.resolve("kubeconfig.node"),
        "--hostname-override=" + nodeName, "--node-ip=" + NODE_IP, "--v=1")));
    Awaitility.await("node " + nodeName + " Ready (kubelet log " + kubelet.log() + ")")
        .atMost(START_LIMIT)
        .pollInterval(Duration.ofMillis(500))
        .failFast("kubelet exited; see " + kubelet.log(), () -> !kubelet.isAlive())
        .until(this::nodeReady);
    Awaitility.await("ServiceAccount default/default (kube-controller-manager)")
        .atMost(START_LIMIT)
        .pollInterval(Duration.ofMillis(500))
        .until(() -> client.serviceAccounts().inNamespace("default").withName("default").get() != null);
  }

  private boolean nodeReady() {
    Node node = client.nodes().withName(nodeName).get();
    return node != null && node.getStatus() != null && node.getStatus().getConditions() != null
        && node.getStatus().getConditions().stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  // --- helpers for tests -------------------------------------------------------------------------

  /** The node's name (Node object), {@code cowherd-node-<id>}. */
  public String nodeName() {
    return nodeName;
  }

  /** Name of the node's network namespace ({@code ip netns}), where hostNetwork pods run. */
  public String netns() {
    return netns;
  }

  /** Host-side kubeconfig (API server on the host's loopback) for kubectl, helm and the test. */
  public Path kubeconfig() {
    return kubeconfig;
  }

  /** An admin client for the test itself. */
  public KubernetesClient client() {
    return client;
  }

  /** The node containerd's socket ({@code ctr --address}). */
  public Path containerdSocket() {
    return workDir.resolve("containerd").resolve("containerd.sock");
  }

  /** Directory holding this cluster's state and logs ({@code <name>.log} per daemon). */
  public Path workDir() {
    return workDir;
  }

  /**
   * Where the test mounts filesystems (e.g. {@link ScratchFilesystem#createXfs}) that pods must see
   * after the cluster started: a shared mount point whose submounts propagate into the node's mount
   * namespace. Unmount them before {@link #close}; close unmounts whatever is left.
   */
  public Path hostMounts() {
    return workDir.resolve("host-mounts");
  }

  /** Time from the first daemon's start to node Ready and the default ServiceAccount. */
  public Duration startDuration() {
    return startDuration;
  }

  /** The kubelet's cgroup root in every hierarchy, e.g. {@code /sys/fs/cgroup/memory/cowherd-node-<id>}. */
  public List<Path> cgroupDirs() {
    return List.copyOf(cgroupDirs);
  }

  /** The kubelet process (for tests that need its pid). */
  public ManagedProcess kubelet() {
    return kubelet;
  }

  /**
   * Runs the pinned kubectl against this cluster and returns the full result (also on a non-zero
   * exit).
   */
  public Commands.Result kubectl(Duration timeout, String... args) {
    List<String> argv = new ArrayList<>();
    argv.add(ControlPlane.binaryDir().resolve("kubectl").toString());
    argv.add("--kubeconfig=" + kubeconfig);
    argv.addAll(List.of(args));
    return Commands.exec(timeout, argv);
  }

  /** Like {@link #kubectl} with a 60 s limit; throws on a non-zero exit and returns stdout. */
  public String kubectlOk(String... args) {
    return ok(kubectl(CMD_TIMEOUT, args));
  }

  /**
   * Runs the pinned helm v3 CLI against this cluster, with its cache, config and data homes under
   * the work dir (nothing written to the user's home). Returns the full result.
   */
  public Commands.Result helm(Duration timeout, String... args) {
    List<String> argv = new ArrayList<>();
    argv.add(ControlPlane.binaryDir().resolve("helm").toString());
    argv.add("--kubeconfig=" + kubeconfig);
    argv.addAll(List.of(args));
    Path home = workDir.resolve("helm-home");
    return Commands.exec(timeout, argv, Map.of(
        "HELM_CACHE_HOME", home.resolve("cache").toString(),
        "HELM_CONFIG_HOME", home.resolve("config").toString(),
        "HELM_DATA_HOME", home.resolve("data").toString()));
  }

  /** Like {@link #helm}; throws on a non-zero exit and returns stdout. */
  public String helmOk(Duration timeout, String... args) {
    return ok(helm(timeout, args));
  }

  /**
   * Imports a docker-archive or OCI tar into the node's containerd, namespace {@code k8s.io} (what
   * the kubelet's CRI sees), so pods can run it with {@code imagePullPolicy: Never/IfNotPresent}.
   *
   * @throws Commands.CommandException when ctr fails
   */
  public void importImage(Path tar) {
    ok(Commands.exec(Duration.ofSeconds(300), List.of("ctr", "--address", containerdSocket().toString(), "-n", "k8s.io",
        "images", "import", "--no-unpack", "--all-platforms", tar.toAbsolutePath().toString())));
  }

  private Commands.Result ctr(String... args) {
    List<String> argv = new ArrayList<>(List.of("ctr", "--address", containerdSocket().toString(), "-n", "k8s.io"));
    argv.addAll(List.of(args));
    return Commands.exec(CMD_TIMEOUT, argv);
  }

  /**
   * Runs {@code argv} inside the node's network and mount namespaces (as the kubelet sees the host).
   */
  public Commands.Result execInNode(Duration timeout, List<String> argv) {
    return Commands.exec(timeout, nodeArgv(argv));
  }

  /**
   * Attaches the node to a boot network: a veth whose end {@code name} is in the node's network
   * namespace (the pool's {@code spec.interface} for agents on this node) and whose other end is a
   * port of {@code lab}'s bridge, where QEMU clients attach.
   *
   * @return {@code name}
   */
  public String attachBootNetwork(NetworkLab lab, String name) {
    lab.addExporterInterfaceIn(netns, name);
    return name;
  }

  private static String ok(Commands.Result r) {
    if (!r.ok()) {
      throw new Commands.CommandException("command " + r.argv() + " exited " + r.exitCode() + ": " + r.stderr().strip());
    }
    return r.stdout();
  }

  private List<String> nodeArgv(List<String> argv) {
    List<String> out = new ArrayList<>(List.of("nsenter", "-t", Long.toString(holder.pid()), "-m", "-n", "--"));
    out.addAll(argv);
    return out;
  }

  private void inNode(String... argv) {
    ok(Commands.exec(CMD_TIMEOUT, nodeArgv(List.of(argv))));
  }

  private ManagedProcess daemon(String name, List<String> argv) {
    ManagedProcess p = ManagedProcess.start(name, argv, Map.of(), workDir.resolve(name + ".log"));
    daemons.add(p);
    return p;
  }

  private static void awaitUp(String what, java.util.concurrent.Callable<Boolean> check) {
    Awaitility.await(what)
        .atMost(START_LIMIT)
        .pollInterval(Duration.ofMillis(200))
        .ignoreExceptions()
        .until(check);
  }

  private static int freeLoopbackPort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Optional<String> nsOf(long pid, String kind) {
    try {
      return Optional.of(Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", kind)).toString());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  // --- teardown ----------------------------------------------------------------------------------

  /**
   * Processes of this node: every process in the node's network or mount namespace or in its
   * cgroup tree (pods, containerd shims, hostNetwork exporters), except the namespace holder.
   */
  public List<Long> nodeProcesses() {
    // The holder pins both namespaces; once it is gone their inode numbers may name other,
    // unrelated namespaces, so only the cgroup tree identifies this node's processes then.
    boolean namespacesPinned = holder != null && holder.isAlive();
    List<Long> out = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.toList()) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        long pid = Long.parseLong(name);
        if (holder != null && pid == holder.pid()) {
          continue;
        }
        boolean inNs = namespacesPinned && nodeNetnsInode != null && nsOf(pid, "net").map(nodeNetnsInode::equals).orElse(false)
            || namespacesPinned && nodeMountInode != null && nsOf(pid, "mnt").map(nodeMountInode::equals).orElse(false);
        if (inNs || inNodeCgroup(pid)) {
          if (namespacesPinned && !holder.isAlive()) {
            return nodeProcesses();
          }
          out.add(pid);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  private boolean inNodeCgroup(long pid) {
    try {
      return Files.readString(Path.of("/proc", Long.toString(pid), "cgroup")).contains("/" + cgroupName + "/")
          || Files.readString(Path.of("/proc", Long.toString(pid), "cgroup")).contains("/" + cgroupName + "\n");
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Stops everything this cluster started and removes what it created: processes (daemons, pods,
   * shims, exporters in the node namespace), the kubelet's cgroups, the node namespaces (and with
   * them every mount made inside), the relay socket, the host directories it had to create, and
   * containerd's image store.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    List<String> problems = new ArrayList<>();
    if (kubelet != null) {
      kubelet.stop(Duration.ofSeconds(10));
    }
    // Pods, shims, containerd, exporters: SIGKILL until none is left (a kill is asynchronous).
    try {
      Awaitility.await("node processes gone")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> {
            List<Long> left = nodeProcesses();
            for (long pid : left) {
              Commands.exec(Duration.ofSeconds(5), List.of("kill", "-KILL", Long.toString(pid)));
            }
            return left.isEmpty();
          });
    } catch (RuntimeException e) {
      problems.add("processes left: " + nodeProcesses());
    }
    for (ManagedProcess p : daemons.reversed()) {
      p.stop(Duration.ofSeconds(10));
    }
    if (client != null) {
      client.close();
    }
    for (Path dir : cgroupDirs) {
      try {
        removeCgroupTree(dir);
      } catch (RuntimeException e) {
        problems.add(e.getMessage());
      }
    }
    Commands.exec(CMD_TIMEOUT, List.of("ip", "netns", "del", netns));
    detachLoopDevicesUnder(hostMounts());
    if (sharedMount) {
      Commands.Result r = Commands.exec(CMD_TIMEOUT, List.of("umount", "--recursive", hostMounts().toString()));
      if (!r.ok()) {
        // Busy: a mount namespace made while the test's mounts existed (e.g. a concurrent buildah or
        // unshare -m on this host) holds copies. Detach here; the kernel frees the filesystems (and
        // autoclear loop devices) when that namespace ends.
        Commands.Result lazy = Commands.exec(CMD_TIMEOUT, List.of("umount", "--recursive", "--lazy", hostMounts().toString()));
        System.err.println("kube node teardown: " + hostMounts() + " busy (" + r.stderr().strip()
            + "); lazily unmounted; mount namespaces holding copies: " + namespacesHolding(hostMounts()));
        if (!lazy.ok()) {
          problems.add("umount " + hostMounts() + ": " + lazy.stderr().strip());
        }
      }
    }
    // Only the last node to stop removes the directories any node created (see REGISTRY).
    try {
      Files.deleteIfExists(registration());
      if (otherLiveNodes().isEmpty()) {
        Path record = REGISTRY.resolve("created-dirs");
        List<Path> created = Files.exists(record)
            ? Files.readAllLines(record).stream().filter(l -> !l.isBlank()).map(Path::of).distinct().toList() : List.of();
        for (Path dir : created.reversed()) {
          try {
            Files.deleteIfExists(dir);
          } catch (IOException e) {
            problems.add("cannot remove " + dir + ": " + e);
          }
        }
        Files.deleteIfExists(record);
        try {
          Files.deleteIfExists(REGISTRY);
        } catch (IOException e) {
          // another node registered meanwhile: its directory stays for it
        }
      }
    } catch (IOException e) {
      problems.add("node registry " + REGISTRY + ": " + e);
    }
    Commands.exec(Duration.ofSeconds(300), List.of("rm", "-rf", "--one-file-system", workDir.resolve("containerd").resolve("root").toString(),
        workDir.resolve("containerd").resolve("state").toString(), workDir.resolve("etcd").toString()));
    if (!problems.isEmpty()) {
      throw new IllegalStateException("kube node teardown left state behind: " + problems);
    }
  }

  /**
   * Detaches loop devices (pods' and the test's) whose backing files lie under {@code dir}, so its
   * filesystems can be unmounted; a mounted loop device is only marked for autoclear.
   */
  static void detachLoopDevicesUnder(Path dir) {
    Commands.Result r = Commands.exec(Duration.ofSeconds(10),
        List.of("losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"));
    r.stdout().lines().map(l -> l.trim().split("\\s+", 2))
        .filter(f -> f.length == 2 && f[1].startsWith(dir.toString() + "/"))
        .forEach(f -> Commands.exec(Duration.ofSeconds(10), List.of("losetup", "-d", f[0])));
  }

  /** Processes (pid and command) whose mount namespace shows a mount under {@code dir}. */
  static List<String> namespacesHolding(Path dir) {
    List<String> out = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.toList()) {
        if (!p.getFileName().toString().chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          if (Files.readString(p.resolve("mountinfo")).contains(" " + dir + "/")) {
            out.add(p.getFileName() + " " + Files.readString(p.resolve("comm")).strip());
          }
        } catch (IOException e) {
          // gone or not ours to read
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  private static void removeCgroupTree(Path root) {
    if (!Files.isDirectory(root)) {
      return;
    }
    Awaitility.await("cgroup " + root + " removed")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> {
          List<Path> dirs;
          try (Stream<Path> walk = Files.walk(root)) {
            dirs = walk.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList();
          } catch (IOException e) {
            return !Files.exists(root);
          }
          for (Path d : dirs) {
            // rmdir(2) is how a cgroup directory is removed; its control files go with it.
            Commands.exec(Duration.ofSeconds(5), List.of("rmdir", d.toString()));
          }
          return !Files.exists(root);
        });
  }

  /**
   * What this cluster left on the host after {@link #close}: processes, cgroup dirs, the network
   * namespace, mounts naming its work dir or cgroup, host directories it created, changed sysctls.
   * Empty when teardown was complete.
   */
  public List<String> leftovers() {
    List<String> out = new ArrayList<>();
    List<Long> procs = nodeProcesses();
    if (holder != null && holder.isAlive()) {
      out.add("namespace holder " + holder);
    }
    if (!procs.isEmpty()) {
      out.add("processes " + procs);
    }
    for (Path dir : cgroupDirs) {
      if (Files.exists(dir)) {
        out.add("cgroup " + dir);
      }
    }
    if (Files.exists(Path.of("/run/netns", netns))) {
      out.add("netns " + netns);
    }
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
        if (line.contains(workDir.toString()) || line.contains(cgroupName)) {
          out.add("mount " + line);
        }
      }
      if (otherLiveNodes().isEmpty()) { // else they stay for the other nodes (see REGISTRY)
        for (Path dir : createdHostDirs) {
          if (Files.exists(dir)) {
            out.add("directory " + dir);
          }
        }
      }
      for (Map.Entry<String, String> sysctl : hostSysctlsBefore.entrySet()) {
        String now = Files.readString(Path.of("/proc/sys", sysctl.getKey())).strip();
        if (!now.equals(sysctl.getValue())) {
          out.add("sysctl " + sysctl.getKey() + " changed from " + sysctl.getValue() + " to " + now);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  @Override
  public String toString() {
    return "KubeNode[" + nodeName + ", netns " + netns + ", " + workDir + "]";
  }
  /** This node's file in {@link #REGISTRY}. */
  private Path registration() {
    return REGISTRY.resolve(cgroupName);
  }

  /** Registers this node as running (its JVM's pid) in {@link #REGISTRY}. */
  private void register() throws IOException {
    Files.createDirectories(REGISTRY);
    Files.writeString(registration(), Long.toString(ProcessHandle.current().pid()));
  }

  /** Registered nodes other than this one whose JVM still runs; stale files of dead JVMs are removed. */
  private List<String> otherLiveNodes() throws IOException {
    if (!Files.isDirectory(REGISTRY)) {
      return List.of();
    }
    List<String> live = new ArrayList<>();
    try (var entries = Files.list(REGISTRY)) {
      for (Path entry : entries.toList()) {
        String name = entry.getFileName().toString();
        if (name.equals("created-dirs") || entry.equals(registration())) {
          continue;
        }
        long pid;
        try {
          pid = Long.parseLong(Files.readString(entry).strip());
        } catch (NumberFormatException | IOException e) {
          continue;
        }
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
          live.add(name);
        } else {
          Files.deleteIfExists(entry);
        }
      }
    }
    return live;
  }
}
