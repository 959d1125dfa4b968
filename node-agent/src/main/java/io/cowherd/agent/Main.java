package io.cowherd.agent;

import io.cowherd.agent.backend.DmSnapshotBackend;
import io.cowherd.agent.backend.ReflinkBackend;
import io.cowherd.agent.config.AgentConfig;
import io.cowherd.agent.export.AoeSegmentProbe;
import io.cowherd.agent.export.Backoff;
import io.cowherd.agent.export.LinkWatcher;
import io.cowherd.agent.export.SegmentScanner;
import io.cowherd.agent.export.VbladeSupervisor;
import io.cowherd.agent.host.CommandRunner;
import io.cowherd.agent.host.Cp;
import io.cowherd.agent.host.Dmsetup;
import io.cowherd.agent.host.ExecCommandRunner;
import io.cowherd.agent.host.Fallocate;
import io.cowherd.agent.host.Filefrag;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.Losetup;
import io.cowherd.agent.host.NetLinks;
import io.cowherd.agent.host.NodeLock;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.http.AgentHttpServer;
import io.cowherd.agent.inventory.AgentLock;
import io.cowherd.agent.inventory.HostInventory;
import io.cowherd.agent.inventory.StateDirSpace;
import io.cowherd.agent.inventory.StateDirWatch;
import io.cowherd.agent.metrics.AgentTelemetry;
import io.cowherd.agent.slot.BackendRegistry;
import io.cowherd.agent.slot.ExporterEvents;
import io.cowherd.agent.slot.KubernetesSlotEvents;
import io.cowherd.agent.slot.SlotExecutor;
import io.cowherd.agent.slot.SlotObserver;
import io.cowherd.agent.slot.SlotReconciler;
import io.cowherd.agent.slot.SlotStatusWriter;
import io.cowherd.agent.slot.SlotValidator;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.RegisteredController;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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

  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }

  @Override
  public Integer call() throws InterruptedException, IOException {
    run(config(), httpPort);
    return 0;
  }

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

  private static void run(AgentConfig config, Integer httpPort) throws InterruptedException, IOException {
    LOG.info("cowherd node agent on node {}: state dir {}, image roots {}, vblade {}, namespaces {}",
        config.nodeName(), config.stateDir(), config.imageRoots(), config.vblade(),
        config.allNamespaces() ? "all" : config.namespaces());
    Files.createDirectories(config.stateDir());
    AgentLock agentLock = AgentLock.acquire(config.stateDir()); // one agent per node, else exit naming the holder
    CommandRunner runner = new ExecCommandRunner();
    HostNames names = new HostNames(config.stateDir());
    Vblade vblade = new Vblade(config.vblade());
    VbladeProcesses processes = new VbladeProcesses(Path.of("/proc"), vblade);
    new HostInventory(names, processes).scanAndLog();

    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("exporter-restarts").daemon(true).factory());
    ExporterEvents exporterEvents = new ExporterEvents();
    SegmentScanner segment = new SegmentScanner(new AoeSegmentProbe(Clock.systemUTC()), Clock.systemUTC(),
        SegmentScanner.ANSWER_WAIT);
    VbladeSupervisor supervisor = new VbladeSupervisor(vblade, processes, scheduler, Clock.systemUTC(),
        Backoff.DEFAULT, exporterEvents, segment);
    // One loop allocation lock for every agent process on this node: a file in the state dir.
    Losetup losetup = new Losetup(runner, NodeLock.onFile(names.stateDir().resolve(HostNames.LOSETUP_LOCK_FILE)));
    BackendRegistry backends = new BackendRegistry(
        new DmSnapshotBackend(names, losetup, new Dmsetup(runner), Path.of("/dev/mapper/control"), new Fallocate(runner)),
        new ReflinkBackend(names, new Cp(runner), new Filefrag(runner)),
        names);

    KubernetesClient client = new KubernetesClientBuilder().build();
    SlotReconciler reconciler = new SlotReconciler(config.nodeName(),
        new SlotObserver(new SlotValidator(config.imageRoots(), Path.of("/sys")), backends, supervisor, processes,
            segment, new StateDirSpace(config.stateDir()), new NetLinks(Path.of("/sys"))),
        new SlotExecutor(backends, supervisor, names),
        new SlotStatusWriter(new KubernetesSlotEvents(client, config.nodeName(), Clock.systemUTC()), client),
        exporterEvents);

    AgentTelemetry telemetry = new AgentTelemetry();
    // statvfs every 5 s: a filling state dir re-judges every slot within seconds (not at the 60 s poll).
    StateDirWatch stateDirWatch = new StateDirWatch(new StateDirSpace(config.stateDir()), exporterEvents::resync);
    telemetry.stateDir(stateDirWatch);
    Operator operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(true)
        .withMetrics(telemetry.operatorMetrics()));
    RegisteredController<AoeBootSlot> controller = operator.register(reconciler, o -> {
      o.withLabelSelector(SlotReconciler.labelSelector(config.nodeName()));
      if (config.allNamespaces()) {
        o.watchingAllNamespaces();
      } else {
        o.settingNamespaces(config.namespaces());
      }
    });
    AgentHttpServer http = httpPort == null ? null : telemetry.serve(httpPort, operator, controller);
    // Link changes reconcile the slots of that interface: exporters serve again within seconds of a
    // NIC returning. Started from this thread, which lives as long as the agent (pdeathsig).
    LinkWatcher links = new LinkWatcher("ip", scheduler, exporterEvents);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("stopping: exporters stay running for the next agent to adopt");
      operator.stop();
      links.close();
      supervisor.close();
      agentLock.close();
      scheduler.shutdownNow();
      if (http != null) {
        http.close();
      }
      stopped.countDown();
    }, "agent-shutdown"));
    operator.start();
    links.start();
    stateDirWatch.start(scheduler);
    stopped.await();
  }
}
