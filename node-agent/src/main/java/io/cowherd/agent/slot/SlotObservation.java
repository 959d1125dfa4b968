package io.cowherd.agent.slot;

import io.cowherd.agent.backend.CowRequest;
import io.cowherd.agent.backend.CowStore;
import io.cowherd.agent.backend.OriginStamp;
import io.cowherd.agent.export.DuplicateExporter;
import io.cowherd.agent.export.ExporterState;
import io.cowherd.agent.host.NetLinks;
import io.cowherd.agent.inventory.StateDirSpace;
import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.agent.host.VbladeTarget;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What the host holds for one slot, read without changing anything.
 *
 * @param slot the validated spec
 * @param request what the backend needs
 * @param store the complete COW store of the wanted backend, if it exists
 * @param otherBackendStore a COW store of the other backend for this slot, if one exists
 * @param wanted the exporter this slot should have
 * @param exporter the supervisor's exporter of this slot, if it manages one
 * @param foreignExporter a vblade not ours claiming the same shelf, slot and interface
 * @param duplicate another exporter answering for the target on the segment (wire check)
 * @param stateDirFull why client writes fail, if the state dir's filesystem is full
 * @param link whether the slot's interface exists and is up (an exporter runs only on one that is)
 * @param stateDir the state dir filesystem as read now, if it could be read
 * @param origin the origin now compared with what the existing store was made from ({@link
 *     OriginStamp#verify}); empty when there is no store yet
 */
public record SlotObservation(
    ValidatedSlot slot,
    CowRequest request,
    Optional<CowStore> store,
    Optional<Path> otherBackendStore,
    VbladeTarget wanted,
    Optional<ExporterState> exporter,
    Optional<VbladeProcess> foreignExporter,
    Optional<DuplicateExporter> duplicate,
    Optional<String> stateDirFull,
    NetLinks.State link,
    Optional<StateDirSpace.Report> stateDir,
    Optional<OriginStamp.Verdict> origin) {

  /** Without an origin comparison (tests of the other rules). */
  public SlotObservation(ValidatedSlot slot, CowRequest request, Optional<CowStore> store,
      Optional<Path> otherBackendStore, VbladeTarget wanted, Optional<ExporterState> exporter,
      Optional<VbladeProcess> foreignExporter, Optional<DuplicateExporter> duplicate, Optional<String> stateDirFull,
      NetLinks.State link, Optional<StateDirSpace.Report> stateDir) {
    this(slot, request, store, otherBackendStore, wanted, exporter, foreignExporter, duplicate, stateDirFull, link,
        stateDir, Optional.empty());
  }

  /** Without wire-check and free-space findings (tests of the other rules). */
  public SlotObservation(ValidatedSlot slot, CowRequest request, Optional<CowStore> store,
      Optional<Path> otherBackendStore, VbladeTarget wanted, Optional<ExporterState> exporter,
      Optional<VbladeProcess> foreignExporter) {
    this(slot, request, store, otherBackendStore, wanted, exporter, foreignExporter, Optional.empty(), Optional.empty(),
        NetLinks.State.UP, Optional.empty());
  }

  /** How the origin changed under the existing store, if it did. */
  public Optional<String> originChange() {
    return origin.flatMap(OriginStamp.Verdict::change);
  }

  /** Whether this slot's exporter process runs now. */
  public boolean exporterRunning() {
    return exporter.filter(ExporterState::running).isPresent();
  }
}
