package io.cowherd.agent;

import io.cowherd.agent.backend.DmSnapshotBackend;
import io.cowherd.agent.backend.ReflinkBackend;
import io.cowherd.agent.config.AgentClient;
import io.cowherd.agent.config.AgentConfig;
import io.cowherd.agent.config.ImageRootOverlapException;
import io.cowherd.agent.config.ImageRoots;
import io.cowherd.agent.export.AoeSegmentProbe;
import io.cowherd.agent.export.Backoff;
import io.cowherd.agent.export.ControlFrameWatch;
import io.cowherd.agent.export.IngressGuard;
import io.cowherd.agent.export.LinkWatcher;
import io.cowherd.agent.export.SegmentScanner;
import io.cowherd.agent.export.VbladeSupervisor;
import io.cowherd.agent.host.CommandRunner;
import io.cowherd.agent.host.Cp;
import io.cowherd.agent.host.Dmsetup;
import io.cowherd.agent.host.ExecCommandRunner;
import io.cowherd.agent.host.ExporterCgroup;
import io.cowherd.agent.host.ExporterLinks;
import io.cowherd.agent.host.ExporterCgroupException;
import io.cowherd.agent.host.Fallocate;
import io.cowherd.agent.host.Fiemap;
import io.cowherd.agent.host.Filefrag;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.Losetup;
import io.cowherd.agent.host.Nft;
import io.cowherd.agent.host.NetLinks;
import io.cowherd.agent.host.NodeLock;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.boot.BootFrontDoor;
import io.cowherd.agent.boot.IoStageReporter;
import io.cowherd.agent.dhcp.DhcpProxyConfig;
import io.cowherd.agent.dhcp.DhcpProxyConfigException;
import io.cowherd.agent.dhcp.DnsmasqProxy;
import io.cowherd.agent.export.AtaIoWatch;
import io.cowherd.agent.jvm.HeapTrim;
import io.cowherd.agent.metrics.SlotIoMetrics;
import io.cowherd.agent.http.AgentHttpServer;
import io.cowherd.agent.inventory.AgentLock;
import io.cowherd.agent.inventory.HostInventory;
import io.cowherd.agent.inventory.StateDirSpace;
import io.cowherd.agent.liveness.NodeLease;
import io.cowherd.agent.inventory.StateDirWatch;
import io.cowherd.agent.metrics.AgentTelemetry;
import io.cowherd.agent.slot.AttackReporter;
import io.cowherd.agent.slot.BackendRegistry;
import io.cowherd.agent.slot.ExporterEvents;
import io.cowherd.agent.slot.OriginWatch;
import io.cowherd.agent.slot.KubernetesSlotEvents;
import io.cowherd.agent.slot.SlotExecutor;
import io.cowherd.agent.slot.SlotObserver;
import io.cowherd.agent.slot.SlotReconciler;
import io.cowherd.agent.slot.SlotStatusWriter;
import io.cowherd.agent.slot.SlotValidator;
import io.cowherd.aoe.net.RawSocket;
import io.cowherd.agent.slot.UnclaimedStateReporter;
import io.cowherd.api.LeanItemStore;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.RegisteredController;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * The node agent's entry point: reads {@link AgentConfig} once, wires the collaborators and
 * starts the slot controller. The Kubernetes client comes from the default configuration
 * (KUBECONFIG, ~/.kube/config, or the in-cluster service account).
 *
 * <p>On SIGTERM the controller stops and exporters are LEFT RUNNING, so clients keep their disks
 * across agent restarts; the next agent adopts them. Teardown happens only on slot deletion.
 */
@Command(name = "cowherd-node-agent", mixinStandardHelpOptions = true,
    description = "Serves this node's AoeBootSlots: COW store per slot, supervised vblade exporter.")
public final class Main implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(Main.class);
  /** Period of the unclaimed COW store scan (a store is reported after two scans in a row). */
  private static final Duration UNCLAIMED_SCAN = Duration.ofSeconds(60);
  /**
   * JOSDK's reconciler threads (its default, 50, made the agent's thread count grow with slots to
   * about 110 at 255; issue 11). Slot reconciles mostly wait for subprocesses and the API server,
   * and exporter starts are serialised by the supervisor, so a few threads keep two cores busy.
   */
  static final int RECONCILER_THREADS = 8;

  @Spec
  private CommandLine.Model.CommandSpec spec;

  @Option(names = "--node-name", defaultValue = "${env:NODE_NAME}",
      description = "This node's name (default: env NODE_NAME); required.")
  private String nodeName;

  @Option(names = "--state-dir", defaultValue = "/var/lib/cowherd", description = "COW store directory (default: ${DEFAULT-VALUE}).")
  private Path stateDir;

  @Option(names = "--image-root", description = "Allowed origin root, repeatable (default: env COWHERD_IMAGE_ROOTS, colon-separated); required.")
  private List<Path> imageRoots = new ArrayList<>();

  @Option(names = "--vblade", defaultValue = "vblade", description = "vblade program (default: ${DEFAULT-VALUE}).")
  private String vblade;

  @Option(names = "--namespace", description = "Namespace to watch, repeatable (default: all).")
  private List<String> namespaces = new ArrayList<>();

  @Option(names = "--http-port", defaultValue = "${env:COWHERD_HTTP_PORT}",
      description = "Port of /healthz, /readyz and /metrics (default: env COWHERD_HTTP_PORT; unset: no HTTP server). "
          + "Log level and format come from env COWHERD_LOG_LEVEL and COWHERD_LOG_FORMAT (text or json).")
  private Integer httpPort;

  @Option(names = "--boot-port", defaultValue = "${env:COWHERD_BOOT_PORT}",
      description = "Port of the boot endpoint GET /boot/v1/ipxe?mac=<mac> on all host addresses (default: env "
          + "COWHERD_BOOT_PORT; unset: no boot endpoint). See docs/booting-clients.md.")
  private Integer bootPort;

  @Option(names = "--boot-address", defaultValue = "${env:COWHERD_BOOT_ADDRESS}",
      description = "IP address (a literal) the boot endpoint listens on (default: env COWHERD_BOOT_ADDRESS; unset: "
          + "every host address).")
  private String bootAddress;

  @Option(names = "--boot-requests-per-second", defaultValue = "2",
      description = "Boot endpoint requests per second per client address, bursts of ten times that (default: ${DEFAULT-VALUE}).")
  private double bootRequestsPerSecond;

  @Option(names = "--dhcp-mode", defaultValue = "${env:COWHERD_DHCP_MODE:-none}",
      description = "none, or proxy: run dnsmasq as proxy DHCP + TFTP on --dhcp-interface, chainloading Debian's iPXE "
          + "and handing iPXE the boot endpoint (needs --boot-port; default: env COWHERD_DHCP_MODE or none).")
  private String dhcpMode;

  @Option(names = "--dhcp-interface", defaultValue = "${env:COWHERD_DHCP_INTERFACE}",
      description = "The boot segment's interface for --dhcp-mode proxy (default: env COWHERD_DHCP_INTERFACE).")
  private String dhcpInterface;

  @Option(names = "--dhcp-address", defaultValue = "${env:COWHERD_DHCP_ADDRESS}",
      description = "This node's IPv4 address on --dhcp-interface that clients are sent to (default: env "
          + "COWHERD_DHCP_ADDRESS; unset: the interface's only IPv4 address).")
  private String dhcpAddress;

  @Option(names = "--dnsmasq", defaultValue = "dnsmasq", description = "dnsmasq program (default: ${DEFAULT-VALUE}).")
  private String dnsmasq;

  @Option(names = "--tftp-root", defaultValue = "/usr/lib/ipxe",
      description = "Directory with undionly.kpxe and ipxe.efi served over TFTP in proxy mode (default: ${DEFAULT-VALUE}).")
  private Path tftpRoot;

  @Option(names = "--lease-namespace", defaultValue = "${env:POD_NAMESPACE}",
      description = "Namespace of this node's heartbeat Lease cowherd-agent-<node> (default: env POD_NAMESPACE, "
          + "the agent's own); required.")
  private String leaseNamespace;

  @Option(names = "--lease-renew-seconds", defaultValue = "10",
      description = "Seconds between heartbeat Lease renewals (default: ${DEFAULT-VALUE}).")
  private int leaseRenewSeconds;

  @Option(names = "--lease-duration-seconds", defaultValue = "40",
      description = "Seconds without renewal after which the operator marks this node's slots AgentAlive=Unknown "
          + "(default: ${DEFAULT-VALUE}); more than --lease-renew-seconds.")
  private int leaseDurationSeconds;

  @Option(names = "--nft", defaultValue = "nft", description = "nft program of the ingress guard (default: ${DEFAULT-VALUE}).")
  private String nft;

  @Option(names = "--no-ingress-guard", defaultValue = "${env:COWHERD_NO_INGRESS_GUARD:-false}",
      description = "Do not install the nftables ingress guard (default: env COWHERD_NO_INGRESS_GUARD or false); "
          + "exporters then obey AoE mask-list, reservation and config-set requests from any host until "
          + "the agent restarts them.")
  private boolean noIngressGuard;

  @Option(names = "--no-io-watch", defaultValue = "${env:COWHERD_NO_IO_WATCH:-false}",
      description = "Do not watch ATA requests on exporter interfaces (default: env COWHERD_NO_IO_WATCH or false); "
          + "then no per-slot I/O metrics and no boot stages Reading, Writing, Silent. See docs/metrics.md.")
  private boolean noIoWatch;

  @Option(names = "--silent-after-seconds", defaultValue = "${env:COWHERD_SILENT_AFTER_SECONDS:-30}",
      description = "Seconds without an ATA request after which a client's boot stage is Silent (default: env "
          + "COWHERD_SILENT_AFTER_SECONDS or 30; at least 1).")
  private int silentAfterSeconds;

  @Option(names = "--host-cgroup-root", defaultValue = "${env:COWHERD_HOST_CGROUP_ROOT}",
      description = "The host's cgroup mount as the agent sees it, e.g. /host/sys/fs/cgroup (default: env "
          + "COWHERD_HOST_CGROUP_ROOT; unset: exporters stay in the agent's cgroup, for an agent run as a host "
          + "process). Every exporter is moved into --exporter-cgroup in each hierarchy there, so it outlives the "
          + "agent's container; needs hostPID.")
  private Path hostCgroupRoot;

  @Option(names = "--exporter-links", defaultValue = "${env:COWHERD_EXPORTER_LINKS:-shared}",
      description = "Where exporters bind: shared (every vblade on the slot's NIC) or macvlan (each on a macvlan of "
          + "its own on the NIC, named cw<shelf 4 hex><slot 2 hex>, MAC 02:<prefix>:<shelf high>:<shelf low>:<slot>, "
          + "so a frame reaches one exporter's socket, not all of them; docs/install.md, \"Exporter links\") "
          + "(default: env COWHERD_EXPORTER_LINKS or shared).")
  private String exporterLinks;

  @Option(names = "--exporter-mac-prefix", defaultValue = "${env:COWHERD_EXPORTER_MAC_PREFIX:-" + ExporterLinks.DEFAULT_PREFIX
      + "}", description = "The two MAC bytes after 02 of exporter links, xx:xx, the same on every node of a segment "
          + "(default: env COWHERD_EXPORTER_MAC_PREFIX or\u00a0" + ExporterLinks.DEFAULT_PREFIX + ").")
  private String exporterMacPrefix;

  @Option(names = "--exporter-cgroup", defaultValue = ExporterCgroup.DEFAULT_NAME,
      description = "Cgroup of the exporters below each hierarchy's root (default: ${DEFAULT-VALUE}).")
  private String exporterCgroup;

  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }

  @Override
  public Integer call() throws InterruptedException, IOException {
    AgentConfig config = config();
    if (leaseNamespace == null || leaseNamespace.isBlank()) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--lease-namespace (or env POD_NAMESPACE) is required");
    }
    if (leaseRenewSeconds < 1 || leaseDurationSeconds <= leaseRenewSeconds) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--lease-renew-seconds must be at least 1 and "
          + "--lease-duration-seconds more than it, got " + leaseRenewSeconds + " and " + leaseDurationSeconds);
    }
    try {
      Files.createDirectories(config.stateDir());
      ImageRoots.requireApartFromStateDir(config.imageRoots(), config.stateDir());
    } catch (ImageRootOverlapException e) {
      LOG.error("refusing to start: {}", e.getMessage());
      spec.commandLine().getErr().println("cowherd-node-agent: " + e.getMessage());
      return 2;
    }
    ExporterCgroup cgroup;
    try {
      cgroup = hostCgroupRoot == null ? ExporterCgroup.none()
          : ExporterCgroup.under(hostCgroupRoot, exporterCgroup, new ExecCommandRunner(), Path.of("/proc"));
      cgroup.requireOutsideAgent(); // a probe: a wrong root would leave exporters in this container
    } catch (IllegalArgumentException | IllegalStateException | ExporterCgroupException e) {
      LOG.error("refusing to start: {}", e.getMessage());
      spec.commandLine().getErr().println("cowherd-node-agent: " + e.getMessage());
      return 2;
    }
    ExporterLinks links;
    try {
      links = new ExporterLinks(ExporterLinks.Placement.parse(exporterLinks), exporterMacPrefix, Path.of("/sys"),
          new ExecCommandRunner(), "ip");
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (silentAfterSeconds < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--silent-after-seconds must be at least 1, got "
          + silentAfterSeconds);
    }
    java.net.InetAddress bootListen = null;
    if (bootAddress != null && !bootAddress.isBlank()) {
      try {
        bootListen = java.net.InetAddress.ofLiteral(bootAddress.strip());
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--boot-address must be an IP address literal, got '"
            + bootAddress + "'");
      }
    }
    DhcpProxyConfig dhcp;
    try {
      dhcp = dhcpProxy();
    } catch (DhcpProxyConfigException e) {
      LOG.error("refusing to start: {}", e.getMessage());
      spec.commandLine().getErr().println("cowherd-node-agent: " + e.getMessage());
      return 2;
    }
    run(config, httpPort, new Boot(bootListen, bootPort, bootRequestsPerSecond,
            noIoWatch ? null : Duration.ofSeconds(silentAfterSeconds), dhcp, dnsmasq), nft, noIngressGuard, cgroup,
        links, new Heartbeat(leaseNamespace.trim(), Duration.ofSeconds(leaseRenewSeconds),
        Duration.ofSeconds(leaseDurationSeconds)));
    return 0;
  }

  /**
   * The boot endpoint's address (null: every one), port (null: none) and per-address rate; the I/O watch's silent time (null: no
   * watch); proxy DHCP (null: off) with its program.
   */
  private record Boot(java.net.InetAddress address, Integer port, double requestsPerSecond, Duration silentAfter, DhcpProxyConfig dhcp,
      String dnsmasq) {}

  /** The proxy DHCP settings checked against this node, or null for mode none. */
  private DhcpProxyConfig dhcpProxy() throws DhcpProxyConfigException {
    String mode = dhcpMode == null ? "none" : dhcpMode.strip();
    return switch (mode) {
      case "none", "" -> null;
      case "proxy" -> DhcpProxyConfig.resolve(dhcpInterface, dhcpAddress, bootPort, tftpRoot, DhcpProxyConfig.HOST);
      default -> throw new DhcpProxyConfigException("--dhcp-mode must be none or proxy, got '" + mode + "'");
    };
  }

  /** Where and how often the heartbeat Lease is renewed. */
  private record Heartbeat(String namespace, Duration renewInterval, Duration leaseDuration) {}

  private AgentConfig config() {
    if (nodeName == null || nodeName.isBlank()) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--node-name (or env NODE_NAME) is required");
    }
    List<Path> roots = new ArrayList<>(imageRoots);
    String envRoots = System.getenv("COWHERD_IMAGE_ROOTS");
    if (roots.isEmpty() && envRoots != null) {
      Arrays.stream(envRoots.split(":")).filter(s -> !s.isBlank()).map(Path::of).forEach(roots::add);
    }
    if (roots.isEmpty()) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--image-root (or env COWHERD_IMAGE_ROOTS) is required");
    }
    return new AgentConfig(nodeName, stateDir, roots, vblade, new HashSet<>(namespaces));
  }

  /**
   * On agent start, one segment scan per interface that running exporters use, on virtual threads
   * while the JVM connects to the API server: the adoptions that follow share it ({@link
   * SegmentScanner#WHILE_RUNNING}) instead of each waiting {@link SegmentScanner#ANSWER_WAIT} for
   * the first one (issue 11: restart until all adopted). Failures only log; the adoption scans again.
   */
  private static void prewarmSegmentScans(VbladeProcesses processes, SegmentScanner segment) {
    processes.snapshot(VbladeSupervisor.SNAPSHOT_AGE).all().stream().map(p -> p.target().iface()).distinct()
        .forEach(iface -> Thread.ofVirtual().name("segment-prewarm-" + iface).start(() -> {
          try {
            segment.scan(iface, SegmentScanner.WHILE_RUNNING);
          } catch (RuntimeException e) {
            LOG.debug("segment pre-scan of {}: {}", iface, e.getMessage());
          }
        }));
  }

  /** The started boot front door (null: none), or its start's failure as thrown there. */
  private static BootFrontDoor joinStart(CompletableFuture<BootFrontDoor> start) throws IOException {
    try {
      return start.join();
    } catch (java.util.concurrent.CompletionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
  }

  private static void run(AgentConfig config, Integer httpPort, Boot boot, String nftProgram, boolean noIngressGuard,
      ExporterCgroup cgroup, ExporterLinks links, Heartbeat heartbeat)
      throws InterruptedException, IOException {
    LOG.info("cowherd node agent on node {}: state dir {}, image roots {}, vblade {}, exporter links {}, namespaces {}, "
            + "heartbeat Lease {}/{} every {} s (duration {} s)",
        config.nodeName(), config.stateDir(), config.imageRoots(), config.vblade(), links,
        config.allNamespaces() ? "all" : config.namespaces(), heartbeat.namespace(),
        io.cowherd.api.Names.agentLeaseName(config.nodeName()), heartbeat.renewInterval().toSeconds(),
        heartbeat.leaseDuration().toSeconds());
    AgentLock agentLock = AgentLock.acquire(config.stateDir()); // one agent per node, else exit naming the holder
    CommandRunner runner = new ExecCommandRunner();
    HostNames names = new HostNames(config.stateDir());
    Vblade vblade = new Vblade(config.vblade());
    VbladeProcesses processes = new VbladeProcesses(Path.of("/proc"), vblade, links);
    HostInventory inventory = new HostInventory(names, processes);
    inventory.scanAndLog();

    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("exporter-restarts").daemon(true).factory());
    ExporterEvents exporterEvents = new ExporterEvents();
    SegmentScanner segment = new SegmentScanner(new AoeSegmentProbe(Clock.systemUTC()), Clock.systemUTC(),
        SegmentScanner.ANSWER_WAIT);
    prewarmSegmentScans(processes, segment);
    VbladeSupervisor supervisor = new VbladeSupervisor(vblade, processes, scheduler, Clock.systemUTC(),
        Backoff.DEFAULT, exporterEvents, segment, cgroup, links);
    // One loop allocation lock for every agent process on this node: a file in the state dir.
    Losetup losetup = new Losetup(runner, NodeLock.onFile(names.stateDir().resolve(HostNames.LOSETUP_LOCK_FILE)));
    BackendRegistry backends = new BackendRegistry(
        new DmSnapshotBackend(names, losetup, new Dmsetup(runner), Path.of("/dev/mapper/control"),
            Path.of("/sys/class/misc/device-mapper"), new Fallocate(runner)),
        new ReflinkBackend(names, new Cp(runner),
            Fiemap.open().<io.cowherd.agent.host.ExtentReader>map(f -> f).orElseGet(() -> new Filefrag(runner))),
        names);

    IngressGuard guard = new IngressGuard(new Nft(runner, nftProgram), Clock.systemUTC(), exporterEvents,
        noIngressGuard ? Optional.of("disabled by --no-ingress-guard") : Optional.empty());
    ScheduledExecutorService guardChecks = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("ingress-guard").daemon(true).factory());
    guard.start(guardChecks);
    ControlFrameWatch watch = new ControlFrameWatch(RawSocket::open, supervisor, Clock.systemUTC());

    KubernetesClient client = AgentClient.create(null);
    NodeLease lease = new NodeLease(client, heartbeat.namespace(), config.nodeName(), heartbeat.renewInterval(),
        heartbeat.leaseDuration(), Clock.systemUTC());
    KubernetesSlotEvents events = new KubernetesSlotEvents(client, config.nodeName(), Clock.systemUTC());
    SlotStatusWriter statusWriter = new SlotStatusWriter(events, client);
    SlotReconciler reconciler = new SlotReconciler(config.nodeName(),
        new SlotObserver(new SlotValidator(config.imageRoots(), Path.of("/sys"), links), backends, supervisor, processes,
            segment, new StateDirSpace(config.stateDir()), new NetLinks(Path.of("/sys"))),
        new SlotExecutor(backends, supervisor, names, guard, watch),
        statusWriter,
        exporterEvents,
        new AttackReporter(guard, watch, events, Clock.systemUTC()));

    AgentTelemetry telemetry = new AgentTelemetry();
    // statvfs every 5 s: a filling state dir re-judges every slot within seconds (not at the 60 s poll).
    StateDirWatch stateDirWatch = new StateDirWatch(new StateDirSpace(config.stateDir()), exporterEvents::resync);
    telemetry.stateDir(stateDirWatch);
    Operator operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(true)
        .withConcurrentReconciliationThreads(RECONCILER_THREADS)
        .withMetrics(telemetry.operatorMetrics()));
    RegisteredController<AoeBootSlot> controller = operator.register(reconciler, o -> {
      o.withLabelSelector(SlotReconciler.labelSelector(config.nodeName()));
      o.withItemStore(LeanItemStore.create()); // no managedFields in the cache (LeanItemStore, issue 11)
      if (config.allNamespaces()) {
        o.watchingAllNamespaces();
      } else {
        o.settingNamespaces(config.namespaces());
      }
    });
    AgentHttpServer http = httpPort == null ? null : telemetry.serve(httpPort, operator, controller, guard, watch);
    // The boot endpoint's informers (clients, pools, slots) sync on their own thread while the slot
    // controller starts: in line they took about 1 s of an agent restart before any adoption (issue 11).
    // Its users below reach it only after the join that follows operator.start().
    CompletableFuture<BootFrontDoor> frontDoorStart = new CompletableFuture<>();
    if (boot.port() == null) {
      frontDoorStart.complete(null);
    } else {
      Thread.ofPlatform().name("boot-front-door-start").daemon(true).start(() -> {
        try {
          frontDoorStart.complete(BootFrontDoor.start(client,
              namespace -> config.allNamespaces() || config.namespaces().contains(namespace), config.nodeName(),
              boot.address(), boot.port(), boot.requestsPerSecond()));
        } catch (IOException | RuntimeException e) {
          frontDoorStart.completeExceptionally(e);
        }
      });
    }
    ScheduledExecutorService ioTicks = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("boot-stages").daemon(true).factory());
    IoStageReporter ioStages = null;
    if (boot.silentAfter() != null) { // ATA request watch: per-slot I/O metrics, stages Reading/Writing/Silent
      AtaIoWatch ioWatch = new AtaIoWatch(AtaIoWatch::ring, Clock.systemUTC());
      ioStages = new IoStageReporter(ioWatch, () -> AgentTelemetry.cachedSlots(operator, controller), boot.silentAfter(),
          Optional.of(new SlotIoMetrics(telemetry.registry(), ioWatch)), events,
          (mac, change) -> Optional.ofNullable(frontDoorStart.join()).ifPresent(d -> d.recordIoStage(mac, change)),
          mac -> Optional.ofNullable(frontDoorStart.join()).flatMap(d -> d.recordedIoStage(mac, config.nodeName())),
          Clock.systemUTC());
      // The slot's STAGE column: its bound client's stage, written by the slot's reconcile on each change.
      statusWriter.clientStages(ioStages::stageOf);
      ioStages.onSlotStageChange(exporterEvents::slotChanged);
    }
    DnsmasqProxy dhcpProxy = boot.dhcp() == null ? null : DnsmasqProxy.startOrRetry(boot.dnsmasq(), config.stateDir(),
        boot.dhcp(), scheduler, Backoff.DEFAULT, Clock.systemUTC(), DnsmasqProxy.START_TIMEOUT);
    UnclaimedStateReporter unclaimed = new UnclaimedStateReporter(names, inventory,
        () -> AgentTelemetry.cachedSlots(operator, controller),
        namespace -> config.allNamespaces() || config.namespaces().contains(namespace), client, config.nodeName(),
        Clock.systemUTC(), telemetry.registry());
    ScheduledExecutorService reports = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("unclaimed-state").daemon(true).factory());
    reports.scheduleWithFixedDelay(() -> {
      if (operator.getRuntimeInfo().isStarted() && operator.getRuntimeInfo().allEventSourcesAreHealthy()) {
        unclaimed.scan(); // reports only; never removes anything
      }
    }, UNCLAIMED_SCAN.toSeconds(), UNCLAIMED_SCAN.toSeconds(), TimeUnit.SECONDS);
    // After a burst (bring-up, teardown, adoption) the heap is given back once the agent is quiet.
    HeapTrim.forThisJvm().ifPresent(t -> t.start(reports));
    // Link changes reconcile the slots of that interface: exporters serve again within seconds of a
    // NIC returning. Started from this thread, which lives as long as the agent (pdeathsig).
    LinkWatcher linkWatcher = new LinkWatcher("ip", scheduler, exporterEvents);
    IoStageReporter finalIoStages = ioStages;
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("stopping: exporters stay running for the next agent to adopt");
      lease.close();
      operator.stop();
      watch.close();
      ioTicks.shutdownNow();
      if (finalIoStages != null) {
        finalIoStages.close();
      }
      linkWatcher.close();
      supervisor.close();
      agentLock.close();
      scheduler.shutdownNow();
      guardChecks.shutdownNow();
      reports.shutdownNow();
      if (http != null) {
        http.close();
      }
      frontDoorStart.thenAccept(d -> {
        if (d != null) {
          d.close();
        }
      });
      if (dhcpProxy != null) {
        dhcpProxy.close();
      }
      stopped.countDown();
    }, "agent-shutdown"));
    operator.start();
    BootFrontDoor frontDoor = joinStart(frontDoorStart);
    if (frontDoor != null && finalIoStages != null) {
      frontDoor.onQuery(finalIoStages::queried);
    }
    // Its own thread, so exporter restarts never delay a renewal.
    ScheduledExecutorService heartbeatThread = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("heartbeat").daemon(true).factory());
    lease.start(heartbeatThread);
    linkWatcher.start();
    stateDirWatch.start(scheduler);
    // An origin written under live slots is judged within seconds, not at the 300 s resync.
    new OriginWatch(() -> AgentTelemetry.cachedSlots(operator, controller), exporterEvents::exporterChanged)
        .start(reports);
    if (ioStages != null) {
      ioStages.start(ioTicks);
    }
    stopped.await();
  }
}
