package io.cowherd.agent.support;

import io.cowherd.agent.backend.DmSnapshotBackend;
import io.cowherd.agent.backend.ReflinkBackend;
import io.cowherd.agent.export.AoeSegmentProbe;
import io.cowherd.agent.export.Backoff;
import io.cowherd.agent.export.ControlFrameWatch;
import io.cowherd.agent.export.GuardState;
import io.cowherd.agent.export.IngressGuard;
import io.cowherd.agent.export.SegmentScanner;
import io.cowherd.agent.export.VbladeSupervisor;
import io.cowherd.agent.host.Cp;
import io.cowherd.agent.host.Dmsetup;
import io.cowherd.agent.host.ExecCommandRunner;
import io.cowherd.agent.host.Fallocate;
import io.cowherd.agent.host.Filefrag;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.Losetup;
import io.cowherd.agent.host.Nft;
import io.cowherd.agent.host.NetLinks;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.inventory.StateDirSpace;
import io.cowherd.agent.slot.AttackReporter;
import io.cowherd.agent.slot.BackendRegistry;
import io.cowherd.agent.slot.ExporterEvents;
import io.cowherd.agent.slot.SlotEventRecorder;
import io.cowherd.agent.slot.SlotExecutor;
import io.cowherd.agent.slot.SlotObserver;
import io.cowherd.agent.slot.SlotReconciler;
import io.cowherd.agent.slot.SlotStatusWriter;
import io.cowherd.agent.slot.SlotValidator;
import io.cowherd.aoe.net.RawSocket;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/** The agent's collaborators wired as Main wires them, on real host tools, for host tests. */
public final class TestAgent implements AutoCloseable {
  public final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  public final VbladeSupervisor supervisor;
  public final SegmentScanner segment;
  public final SlotReconciler reconciler;
  public final IngressGuard guard;
  public final ControlFrameWatch watch;
  public final ExporterEvents exporterEvents;

  /** With the real wire check ({@link AoeSegmentProbe}), as Main wires it. */
  public TestAgent(String nodeName, Path stateDir, List<Path> imageRoots, Vblade vblade, KubernetesClient client,
      SlotEventRecorder events) {
    this(nodeName, stateDir, imageRoots, vblade, client, events,
        new SegmentScanner(new AoeSegmentProbe(Clock.systemUTC()), Clock.systemUTC(), SegmentScanner.ANSWER_WAIT));
  }

  /** With another wire check (a controlled clock, or none for a baseline). */
  public TestAgent(String nodeName, Path stateDir, List<Path> imageRoots, Vblade vblade, KubernetesClient client,
      SlotEventRecorder events, SegmentScanner segment) {
    this(nodeName, stateDir, imageRoots, vblade, client, events, segment, Optional.empty());
  }

  /**
   * @param guardOff if present, the ingress guard is switched off with this reason (the test
   *     switch for "no guard": detection and restarts alone)
   */
  public TestAgent(String nodeName, Path stateDir, List<Path> imageRoots, Vblade vblade, KubernetesClient client,
      SlotEventRecorder events, SegmentScanner segment, Optional<String> guardOff) {
    this.segment = segment;
    ExecCommandRunner runner = new ExecCommandRunner();
    HostNames names = new HostNames(stateDir);
    VbladeProcesses processes = new VbladeProcesses(Path.of("/proc"), vblade);
    exporterEvents = new ExporterEvents();
    supervisor = new VbladeSupervisor(vblade, processes, scheduler, Clock.systemUTC(), Backoff.DEFAULT, exporterEvents,
        segment);
    BackendRegistry backends = new BackendRegistry(
        new DmSnapshotBackend(names, new Losetup(runner), new Dmsetup(runner), Path.of("/dev/mapper/control"),
            Path.of("/sys/class/misc/device-mapper"), new Fallocate(runner)),
        new ReflinkBackend(names, new Cp(runner), new Filefrag(runner)), names);
    guard = new IngressGuard(new Nft(runner, HostTools.requireProgram("nft", "nftables").toString()), Clock.systemUTC(),
        exporterEvents, guardOff);
    watch = new ControlFrameWatch(RawSocket::open, supervisor, Clock.systemUTC());
    reconciler = new SlotReconciler(nodeName,
        new SlotObserver(new SlotValidator(imageRoots, Path.of("/sys")), backends, supervisor, processes, segment,
            new StateDirSpace(stateDir), new NetLinks(Path.of("/sys"))),
        new SlotExecutor(backends, supervisor, names, guard, watch),
        new SlotStatusWriter(events, client),
        exporterEvents,
        new AttackReporter(guard, watch, events, Clock.systemUTC()));
  }

  /** Stops supervising (exporters keep running, as on agent shutdown). */
  @Override
  public void close() {
    watch.close();
    for (GuardState g : guard.states()) { // tables outlive the agent (as exporters do); not a test's
      HostTools.runQuietly(HostTools.requireProgram("nft", "nftables").toString(), "delete", "table", "netdev", g.table());
    }
    supervisor.close();
    scheduler.shutdownNow();
  }
}
