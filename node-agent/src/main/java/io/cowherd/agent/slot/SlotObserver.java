package io.cowherd.agent.slot;

import io.cowherd.agent.backend.CowBackend;
import io.cowherd.agent.backend.CowRequest;
import io.cowherd.agent.backend.CowStore;
import io.cowherd.agent.export.VbladeSupervisor;
import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Reads the host for one slot; writes nothing. */
public final class SlotObserver {
  private final SlotValidator validator;
  private final BackendRegistry backends;
  private final VbladeSupervisor supervisor;
  private final VbladeProcesses processes;

  public SlotObserver(SlotValidator validator, BackendRegistry backends, VbladeSupervisor supervisor,
      VbladeProcesses processes) {
    this.validator = validator;
    this.backends = backends;
    this.supervisor = supervisor;
    this.processes = processes;
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
    VbladeTarget wanted = new VbladeTarget(slot.shelf(), slot.id().slot(), slot.iface(), exportPath);
    List<Path> ours = backends.exportPaths(slot.id());
    Optional<VbladeProcess> foreign = processes.scan().stream()
        .filter(p -> p.target().sameAddress(wanted) && !p.isExactly(wanted) && !ours.contains(p.target().path()))
        .findFirst();
    return new SlotObservation(slot, request, store, other, wanted, supervisor.state(slot.id()), foreign);
  }
}
