package io.cowherd.agent.slot;

import io.cowherd.agent.backend.CowBackend;
import io.cowherd.agent.backend.CowRequest;
import io.cowherd.agent.backend.CowStore;
import io.cowherd.agent.backend.OriginIdentities;
import io.cowherd.agent.backend.OriginStamp;
import io.cowherd.agent.export.DuplicateExporter;
import io.cowherd.agent.export.ExporterState;
import io.cowherd.agent.export.SegmentScanException;
import io.cowherd.agent.export.SegmentScanner;
import io.cowherd.agent.export.TargetClaims;
import io.cowherd.agent.export.VbladeSupervisor;
import io.cowherd.agent.host.NetLinks;
import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.agent.inventory.StateDirSpace;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the host for one slot; changes nothing. Besides the COW store and exporter it looks for
 * other exporters of the slot's target: in {@code /proc} (same interface; the shared indexed scan
 * of {@link VbladeProcesses#snapshot} judged by {@link TargetClaims}) and on the wire ({@link
 * SegmentScanner}: a scan at most {@link SegmentScanner#WHILE_RUNNING} old while our exporter runs,
 * at most {@link SegmentScanner#BEFORE_START} old when one may be started; none while the link is
 * not up or the exporter moves to another interface), at the state of the slot's interface
 * ({@link NetLinks}), at the free space of the state dir's filesystem ({@link StateDirSpace}) and
 * at whether the origin is still what the slot's COW store was made from ({@link OriginStamp#verify};
 * one stat(2) per origin per {@link OriginIdentities#FRESH}).
 */
public final class SlotObserver {
  private static final Logger LOG = LoggerFactory.getLogger(SlotObserver.class);

  private final SlotValidator validator;
  private final BackendRegistry backends;
  private final VbladeSupervisor supervisor;
  private final VbladeProcesses processes;
  private final SegmentScanner segment;
  private final StateDirSpace space;
  private final NetLinks links;
  private final OriginIdentities origins = new OriginIdentities();

  /**
   * @param segment the wire check shared with the supervisor (one broadcast per interface)
   * @param space free space of the state dir's filesystem
   * @param links the state of the slots' interfaces
   */
  public SlotObserver(SlotValidator validator, BackendRegistry backends, VbladeSupervisor supervisor,
      VbladeProcesses processes, SegmentScanner segment, StateDirSpace space, NetLinks links) {
    this.links = links;
    this.validator = validator;
    this.backends = backends;
    this.supervisor = supervisor;
    this.processes = processes;
    this.segment = segment;
    this.space = space;
  }

  /**
   * The new origin file a capture may create at {@code capture} ({@link SlotValidator#captureTarget}).
   *
   * @throws InvalidSlotException naming the first problem
   */
  public java.nio.file.Path captureTarget(String capture) {
    return validator.captureTarget(capture);
  }

  /**
   * Validates the slot's spec only (image under the allowed roots, a readable origin, ...), touching
   * nothing.
   *
   * @throws InvalidSlotException if the spec cannot be served here
   */
  public ValidatedSlot validate(AoeBootSlot resource) {
    return validator.validate(resource.getMetadata().getNamespace(), resource.getSpec());
  }

  /**
   * @throws InvalidSlotException if the spec cannot be served here
   * @throws io.cowherd.agent.backend.BackendUnavailableException if no store exists and the
   *     backend cannot work on this node
   * @throws io.cowherd.agent.backend.HostConflictException if a host object with our name is not ours
   */
  public SlotObservation observe(AoeBootSlot resource) {
    ValidatedSlot slot = validator.validate(resource.getMetadata().getNamespace(), resource.getSpec());
    CowBackend backend = backends.forKind(slot.backend());
    CowRequest request = new CowRequest(slot.id(), slot.origin(), slot.sizeBytes(), slot.chunkSectors());
    Optional<CowStore> store = backend.find(request);
    Optional<Path> other = backends.otherStore(slot.backend(), slot.id());
    if (store.isEmpty() && other.isEmpty()) {
      backend.checkAvailable(request);
    }
    Path exportPath = store.map(CowStore::exportPath).orElse(backends.exportPath(slot.backend(), slot.id()));
    VbladeTarget wanted = slot.target(exportPath);
    List<Path> ours = backends.exportPaths(slot.id());
    // One indexed /proc scan shared by every slot of a reconcile batch and the supervisor's starts.
    TargetClaims.Verdict claims = TargetClaims.judgeLive(processes, VbladeSupervisor.SNAPSHOT_AGE, wanted, ours,
        List.of());
    Optional<VbladeProcess> foreign = claims.conflict();
    Optional<ExporterState> exporter = supervisor.state(slot.id());
    // Ours runs, or will be adopted (a process with exactly its argv, e.g. after an agent restart): it
    // has been answering on the wire all along, so the running exporter's scan age applies.
    boolean running = exporter.filter(ExporterState::running).isPresent() || !claims.exact().isEmpty();
    NetLinks.State link = links.state(slot.iface());
    // No wire check on a link that is not up (nothing to probe), nor while our exporter moves to
    // another interface: the old one may answer on the new segment until the supervisor stopped it,
    // and the supervisor checks with a scan sent after that stop before it starts the new one.
    boolean moving = exporter.filter(e -> !e.target().iface().equals(wanted.iface())).isPresent();
    Optional<DuplicateExporter> duplicate = link == NetLinks.State.UP && !moving
        ? duplicate(wanted, running) : Optional.empty();
    Optional<StateDirSpace.Report> stateDir = stateDir();
    Optional<OriginStamp.Verdict> origin = store.map(s -> OriginStamp.verify(s.cowStorePath(), slot.origin(),
        origins.current(slot.origin())));
    return new SlotObservation(slot, request, store, other, wanted, exporter, foreign, duplicate,
        stateDir.filter(StateDirSpace.Report::full).map(StateDirSpace.Report::message), link, stateDir, origin);
  }

  /** The wire check; a failed scan is logged (a start checks again and refuses on failure). */
  private Optional<DuplicateExporter> duplicate(VbladeTarget wanted, boolean running) {
    Duration maxAge = running ? SegmentScanner.WHILE_RUNNING : SegmentScanner.BEFORE_START;
    try {
      return segment.duplicateOf(wanted, maxAge);
    } catch (SegmentScanException e) {
      LOG.warn("{}: {}", wanted.aoeName(), e.getMessage());
      return Optional.empty();
    }
  }

  private Optional<StateDirSpace.Report> stateDir() {
    try {
      return space.check();
    } catch (IOException e) {
      LOG.warn("cannot read the free space of the state dir: {}", e.toString());
      return Optional.empty();
    }
  }
}
