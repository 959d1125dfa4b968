package io.cowherd.agent.slot;

import io.cowherd.agent.backend.CowBackend;
import io.cowherd.agent.backend.CowStore;
import io.cowherd.agent.backend.CowUsage;
import io.cowherd.agent.export.ExporterState;
import io.cowherd.agent.export.VbladeSupervisor;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.VbladeTarget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The only side effects of the slot reconciler, in order: COW store, then exporter; teardown in
 * reverse: exporter, then every backend's host objects. Each step is idempotent and the
 * collaborators re-check the host before acting.
 */
public final class SlotExecutor {
  private final BackendRegistry backends;
  private final VbladeSupervisor supervisor;
  private final HostNames names;

  public SlotExecutor(BackendRegistry backends, VbladeSupervisor supervisor, HostNames names) {
    this.backends = backends;
    this.supervisor = supervisor;
    this.names = names;
  }

  /**
   * Carries out {@code plan}, then makes sure the store's space is reserved (an adopted store may
   * be sparse; done once per store in the agent's life) and reads its usage.
   *
   * @throws io.cowherd.agent.host.CommandFailedException and the other typed host and backend
   *     exceptions; nothing already built is removed on the way out
   */
  public SlotOutcome apply(SlotPlan plan, SlotObservation seen) {
    ValidatedSlot slot = seen.slot();
    CowBackend backend = backends.forKind(slot.backend());
    Optional<CowStore> store = seen.store();
    Optional<ExporterState> exporter = seen.exporter();
    for (SlotPlan.Step step : plan.steps()) {
      switch (step) {
        case PROVISION_COW_STORE -> store = Optional.of(backend.provision(seen.request()));
        case STOP_EXPORTER -> {
          supervisor.stop(slot.id(), backends.exportPaths(slot.id()));
          exporter = supervisor.state(slot.id());
        }
        case ENSURE_EXPORTER -> {
          Path exportPath = store.orElseThrow().exportPath();
          VbladeTarget target = new VbladeTarget(slot.shelf(), slot.id().slot(), slot.iface(), exportPath);
          exporter = Optional.of(supervisor.ensure(slot.id(), target, names.exporterLogPath(slot.id())));
        }
      }
    }
    Optional<String> unreserved = store.flatMap(s -> backend.reserve(s, seen.request()));
    Optional<CowUsage> usage = store.map(backend::usage);
    return new SlotOutcome(store, usage, exporter, unreserved);
  }

  /**
   * Removes everything slot {@code id} has on this host: its exporter (verified gone), then the
   * exporter log, then the host objects and COW data of every backend. Only for a deleted slot.
   *
   * @param originHint the slot's origin, if known, to release a no longer used origin loop
   * @throws io.cowherd.agent.export.ExporterStopException if an exporter would not exit
   * @throws io.cowherd.agent.backend.TeardownIncompleteException if a device is still busy
   */
  public void teardown(SlotId id, Optional<Path> originHint) {
    supervisor.stop(id, backends.exportPaths(id));
    try {
      Files.deleteIfExists(names.exporterLogPath(id));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove exporter log of slot " + id + ": " + e.getMessage(), e);
    }
    for (CowBackend backend : backends.all()) {
      backend.teardown(id, originHint);
    }
  }
}
