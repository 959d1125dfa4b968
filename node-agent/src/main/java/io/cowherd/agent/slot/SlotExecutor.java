package io.cowherd.agent.slot;

import io.cowherd.agent.backend.CowBackend;
import io.cowherd.agent.backend.CowStore;
import io.cowherd.agent.backend.CowUsage;
import io.cowherd.agent.backend.OriginIdentity;
import io.cowherd.agent.backend.OriginStamp;
import io.cowherd.agent.export.ControlFrameWatch;
import io.cowherd.agent.export.ExporterState;
import io.cowherd.agent.export.GuardState;
import io.cowherd.agent.export.IngressGuard;
import io.cowherd.agent.export.VbladeSupervisor;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.api.SlotReclaim;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The only side effects of the slot reconciler, in order: COW store, then exporter; teardown in
 * reverse: exporter, then every backend's host objects. Each step is idempotent and the
 * collaborators re-check the host before acting. Before an exporter starts, its interface is
 * guarded ({@link IngressGuard}) and watched ({@link ControlFrameWatch}); both are released with
 * the exporter.
 */
public final class SlotExecutor {
  private final BackendRegistry backends;
  private final VbladeSupervisor supervisor;
  private final HostNames names;
  private final IngressGuard guard;
  private final ControlFrameWatch watch;

  public SlotExecutor(BackendRegistry backends, VbladeSupervisor supervisor, HostNames names, IngressGuard guard,
      ControlFrameWatch watch) {
    this.backends = backends;
    this.supervisor = supervisor;
    this.names = names;
    this.guard = guard;
    this.watch = watch;
  }

  /**
   * Carries out {@code plan}, then makes sure the store's space is reserved (an adopted store may
   * be sparse; done once per store in the agent's life) and reads its usage.
   *
   * @throws io.cowherd.agent.host.CommandFailedException and the other typed host and backend
   *     exceptions; nothing already built is removed on the way out
   */
  public SlotOutcome apply(SlotPlan plan, SlotObservation seen, Optional<String> slotUid) {
    return apply(plan, seen, slotUid, Optional.empty());
  }

  /**
   * {@link #apply(SlotPlan, SlotObservation, Optional)}, recording {@code rebuild} (the slot's
   * {@code spec.rebuild}) in the stamp of a store made now, before it is exported.
   */
  public SlotOutcome apply(SlotPlan plan, SlotObservation seen, Optional<String> slotUid, Optional<String> rebuild) {
    ValidatedSlot slot = seen.slot();
    CowBackend backend = backends.forKind(slot.backend());
    Optional<CowStore> store = seen.store();
    Optional<ExporterState> exporter = seen.exporter();
    Optional<GuardState> guarded = Optional.empty();
    for (SlotPlan.Step step : plan.steps()) {
      switch (step) {
        case PROVISION_COW_STORE -> {
          store = Optional.of(backend.provision(seen.request()));
          // before the exporter starts: a later abandonment of this object names this store
          Path made = store.get().cowStorePath();
          slotUid.ifPresent(uid -> OriginStamp.recordServedBy(made, uid));
          rebuild.ifPresent(token -> OriginStamp.recordRebuild(made, token));
        }
        case STOP_EXPORTER -> {
          supervisor.stop(slot.id(), backends.exportPaths(slot.id()));
          exporter = supervisor.state(slot.id());
          watch.release(slot.id());
          guard.release(slot.id());
        }
        case ENSURE_EXPORTER -> {
          Path exportPath = store.orElseThrow().exportPath();
          VbladeTarget target = slot.target(exportPath);
          guarded = Optional.of(guard.ensure(slot.id(), slot.iface())); // before the exporter sees a frame
          watch.watch(slot.id(), slot.iface());
          exporter = Optional.of(supervisor.ensure(slot.id(), target, names.exporterLogPath(slot.id())));
        }
      }
    }
    if (guarded.isEmpty() && exporter.isPresent()) { // a running exporter: its guard is verified every reconcile
      guarded = Optional.of(guard.ensure(slot.id(), slot.iface()));
      watch.watch(slot.id(), slot.iface());
      supervisor.stopOthers(slot.id()); // and no other vblade serves its store or target beside it
    }
    Optional<String> unreserved = store.flatMap(s -> backend.reserve(s, seen.request()));
    Optional<CowUsage> usage = store.map(backend::usage);
    Optional<OriginStamp.Verdict> origin = store.map(s -> origin(s, seen));
    store.ifPresent(s -> slotUid.ifPresent(uid -> OriginStamp.recordServedBy(s.cowStorePath(), uid)));
    return new SlotOutcome(store, usage, exporter, guarded, unreserved, origin);
  }

  /**
   * Moves aside every COW store of slot {@code id} that {@code slot} must not adopt ({@link
   * SlotReclaim#mustMoveAside}: last served by the slot object whose data the user abandoned): stops
   * the exporter and detaches the devices (as a {@code Retain} teardown does), then renames each
   * such store with its stamp ({@link OriginStamp#moveAside}). Deletes nothing. Idempotent: a
   * store this slot made or served is never moved.
   *
   * @return the new paths of the stores moved aside; empty when nothing was to move
   * @throws io.cowherd.agent.export.ExporterStopException if the exporter would not exit
   * @throws io.cowherd.agent.backend.TeardownIncompleteException if a device is still busy
   */
  public List<Path> moveAsideAbandoned(AoeBootSlot slot, SlotId id, Optional<Path> originHint, Instant now) {
    if (SlotReclaim.abandonedStoreOf(slot).isEmpty()) {
      return List.of();
    }
    List<Path> abandoned = new ArrayList<>();
    for (Path store : List.of(names.clonePath(id), names.cowFilePath(id))) {
      if (Files.isRegularFile(store)
          && SlotReclaim.mustMoveAside(slot, OriginStamp.read(store).flatMap(OriginStamp.Stamp::servedBy))) {
        abandoned.add(store);
      }
    }
    if (abandoned.isEmpty()) {
      return List.of();
    }
    teardown(id, originHint, SlotReclaim.OnDeletion.KEEP_COW_STORE);
    List<Path> moved = new ArrayList<>();
    for (Path store : abandoned) {
      moved.add(OriginStamp.moveAside(store, now));
    }
    return moved;
  }

  /**
   * What a rebuild discarded.
   *
   * @param store the COW store removed
   * @param oldOrigin the origin it was built from (its stamp's path)
   * @param oldIdentity that origin's identity when the store was made, if recorded
   * @param oldToken the rebuild token it was built for, if any
   */
  public record Rebuilt(Path store, String oldOrigin, Optional<OriginIdentity> oldIdentity, Optional<String> oldToken) {}

  /**
   * Discards every COW store of {@code slot} that was built for another rebuild token than {@code
   * token} ({@code spec.rebuild}; the rule of {@code io.cowherd.api.SlotOrigins}): stops the
   * exporter, removes the devices and the COW data of every backend ({@code REMOVE_ALL}, as a
   * scale-down with reclaim policy Delete does) and releases the old origin's loop device when no
   * other slot uses it. The caller has validated the slot's new origin first, so a bad new image
   * never costs the old store. Stores without a stamp are left alone (nothing says what they hold).
   *
   * @return what was discarded; empty when every store already matches {@code token} or none exists
   * @throws io.cowherd.agent.export.ExporterStopException if the exporter would not exit
   * @throws io.cowherd.agent.backend.TeardownIncompleteException if a device is still busy
   */
  public List<Rebuilt> rebuildIfRequested(SlotId id, String token) {
    List<Rebuilt> outdated = new ArrayList<>();
    for (Path store : List.of(names.clonePath(id), names.cowFilePath(id))) {
      Optional<OriginStamp.Stamp> stamp = Files.isRegularFile(store) ? OriginStamp.read(store) : Optional.empty();
      if (stamp.isPresent() && stamp.get().rebuild().filter(token::equals).isEmpty()) {
        outdated.add(new Rebuilt(store, stamp.get().path(), stamp.get().identity(), stamp.get().rebuild()));
      }
    }
    for (Rebuilt old : outdated) {
      teardown(id, Optional.of(Path.of(old.oldOrigin())), SlotReclaim.OnDeletion.REMOVE_ALL);
    }
    return outdated;
  }

  /**
   * The origin comparison for {@code store}: the observed one, or (for a store made just now) a
   * fresh one. A store whose stamp has no identity yet (older agent) gets the current one recorded.
   */
  private static OriginStamp.Verdict origin(CowStore store, SlotObservation seen) {
    Path origin = seen.slot().origin();
    OriginStamp.Verdict v = seen.origin().orElseGet(
        () -> OriginStamp.verify(store.cowStorePath(), origin, OriginIdentity.of(origin)));
    if (v.stamped().isEmpty()) {
      OriginStamp.recordIfMissing(store.cowStorePath(), origin, v.current());
    }
    return v;
  }

  /**
   * Does what the deletion of slot {@code id} allows ({@link SlotReclaim#onDeletion}, decided by the
   * caller): {@code REMOVE_ALL} stops the exporter (verified gone), removes the exporter log, then
   * the host objects and COW data of every backend; {@code KEEP_COW_STORE} does the same but keeps
   * every COW store; {@code KEEP_ALL} changes nothing on the host and only stops supervising the
   * exporter, which keeps serving (the slot's next object adopts it).
   *
   * @param originHint the slot's origin, if known, to release a no longer used origin loop
   * @throws io.cowherd.agent.export.ExporterStopException if an exporter would not exit
   * @throws io.cowherd.agent.backend.TeardownIncompleteException if a device is still busy
   */
  public void teardown(SlotId id, Optional<Path> originHint, SlotReclaim.OnDeletion action) {
    if (action == SlotReclaim.OnDeletion.KEEP_ALL) {
      supervisor.release(id);
      return;
    }
    supervisor.stop(id, backends.exportPaths(id));
    watch.release(id);
    guard.release(id);
    try {
      Files.deleteIfExists(names.exporterLogPath(id));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove exporter log of slot " + id + ": " + e.getMessage(), e);
    }
    for (CowBackend backend : backends.all()) {
      if (action == SlotReclaim.OnDeletion.REMOVE_ALL) {
        backend.teardown(id, originHint);
      } else {
        backend.detach(id, originHint);
      }
    }
  }

  /**
   * What a capture wrote.
   *
   * @param path the new origin file
   * @param identity its identity once written
   * @param sizeBytes its size in bytes (the slot's disk)
   * @param took how long the copy took (from the start of the copy to the file in place)
   * @param exporterStopped whether the exporter was stopped during the copy
   * @param exporter the slot's exporter afterwards (a new one when it was stopped)
   */
  public record Captured(Path path, OriginIdentity identity, long sizeBytes, java.time.Duration took,
      boolean exporterStopped, Optional<ExporterState> exporter) {}

  /**
   * Writes the slot's whole disk (origin plus its COW data) into the new file {@code target}
   * (checked by {@link SlotValidator#captureTarget}): the backend copies it into a hidden partial
   * file next to it ({@code .<name>.capture-partial}, removed first if a crash left one), forced to
   * disk and made read-only (0444), then hard-linked to {@code target} (link(2) fails with EEXIST
   * instead of replacing anything: never overwrites a file), the partial name removed and the
   * directory synced. When the backend's copy is not atomic against writes ({@link
   * CowBackend#copyNeedsStoppedExporter}, dm-snapshot) the exporter is stopped during the copy and
   * started again afterwards, whatever the outcome.
   *
   * @throws java.io.UncheckedIOException when the copy, the link or a sync fails (the partial file is
   *     removed; the message says whether the complete copy is at {@code target} already: a failure
   *     after the link, e.g. the directory sync)
   * @throws io.cowherd.agent.host.CommandFailedException when the reflink clone fails
   */
  public Captured capture(SlotObservation seen, CowStore store, Path target) {
    ValidatedSlot slot = seen.slot();
    CowBackend backend = backends.forKind(slot.backend());
    Path partial = SlotValidator.capturePartial(target);
    boolean stop = backend.copyNeedsStoppedExporter() && supervisor.state(slot.id()).isPresent();
    long started = System.nanoTime();
    boolean linked = false;
    try {
      Files.deleteIfExists(partial);
      if (stop) {
        supervisor.stop(slot.id(), backends.exportPaths(slot.id()));
      }
      backend.copyDisk(store, partial, slot.sizeBytes());
      Files.setPosixFilePermissions(partial, java.nio.file.attribute.PosixFilePermissions.fromString("r--r--r--"));
      Files.createLink(target, partial);
      linked = true;
      Files.delete(partial);
      try (java.nio.channels.FileChannel dir = java.nio.channels.FileChannel.open(target.getParent(),
          java.nio.file.StandardOpenOption.READ)) {
        dir.force(true);
      }
      java.time.Duration took = java.time.Duration.ofNanos(System.nanoTime() - started);
      Optional<ExporterState> exporter = restart(stop, slot, store);
      stop = false;
      return new Captured(target, OriginIdentity.of(target), Files.size(target), took, exporter.isPresent(), exporter);
    } catch (IOException e) {
      throw new UncheckedIOException(linked
          ? "the copy is complete at " + target + " (read-only) but a step after linking it failed: " + e
          : "capture to " + target + " failed, nothing written there: " + e, e);
    } finally {
      try {
        Files.deleteIfExists(partial);
      } catch (IOException e) {
        // reported by the next capture's deleteIfExists
      }
      restart(stop, slot, store);
    }
  }

  /** Starts the exporter stopped for a copy again; empty when it was not stopped. */
  private Optional<ExporterState> restart(boolean stopped, ValidatedSlot slot, CowStore store) {
    if (!stopped) {
      return Optional.empty();
    }
    return Optional.of(supervisor.ensure(slot.id(), slot.target(store.exportPath()), names.exporterLogPath(slot.id())));
  }
}
