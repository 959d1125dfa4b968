package io.cowherd.agent.slot;

import io.cowherd.agent.backend.TeardownIncompleteException;
import io.cowherd.agent.export.ExporterStopException;
import io.cowherd.agent.host.CommandFailedException;
import io.cowherd.agent.host.CommandTimedOutException;
import io.cowherd.agent.host.SlotId;
import io.cowherd.api.Names;
import io.cowherd.api.SlotReclaim;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotCapture;
import io.cowherd.api.v1alpha1.AoeBootSlotSpec;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.MaxReconciliationInterval;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the host match each {@link AoeBootSlot} of this node: observe (read the host) → decide
 * ({@link SlotPlan}, pure) → act ({@link SlotExecutor}) → report ({@link SlotStatusWriter}).
 * Registered with label selector {@code cowherd.io/node=<node>} (set at registration); slots whose
 * {@code spec.nodeName} is another node are skipped. Exporter changes, link changes of a slot's
 * interface ({@link io.cowherd.agent.export.LinkWatcher}) and state dir level changes ({@link
 * io.cowherd.agent.inventory.StateDirWatch}) arrive through {@link ExporterEvents}, and so do the
 * supervisor's batched claim re-checks every {@link io.cowherd.agent.export.VbladeSupervisor#SWEEP_PERIOD}
 * (another vblade of a slot's target or path on this host, another MAC answering for it on the
 * segment: only those slots are reconciled). A reconcile of every slot every {@value
 * #RESYNC_SECONDS} s (JOSDK's maximum reconciliation interval) refreshes COW usage, re-checks failed
 * slots (a slot held back by another exporter of its target, on this host or on the segment, every
 * {@link #HELD_RECHECK} instead: it starts soon after that one is gone), the segment for other exporters of each target ({@link
 * io.cowherd.agent.export.SegmentScanner}) and the state dir's free space ({@link
 * io.cowherd.agent.inventory.StateDirSpace}); it was 60 s, and was most of the agent's idle CPU at
 * 255 slots (issue 11).
 *
 * <p>Only slots their pool made are acted on ({@link SlotOwnership}: name {@code <pool>-<slot>},
 * controller owner reference to that pool); any other slot object is reported {@code Failed} and
 * changes nothing on the host, neither when reconciled nor when deleted.
 *
 * <p>Deletion ({@link Cleaner}, finalizer {@value Names#SLOT_FINALIZER}) does what the slot's
 * reclaim mark allows ({@link SlotReclaim}, the one rule): marked {@code Delete}, phase {@code
 * Terminating}, stop the exporter, tear down devices and COW store; marked {@code Retain}, the
 * same but the COW store stays; no mark, nothing on the host changes (the exporter keeps serving
 * and the operator recreates the slot on this node). The finalizer is removed only when that is
 * done. Agent shutdown leaves exporters running (see {@link
 * io.cowherd.agent.export.VbladeSupervisor}).
 */
@ControllerConfiguration(
    name = SlotReconciler.NAME,
    finalizerName = Names.SLOT_FINALIZER,
    maxReconciliationInterval = @MaxReconciliationInterval(interval = SlotReconciler.RESYNC_SECONDS,
        timeUnit = TimeUnit.SECONDS))
public final class SlotReconciler implements Reconciler<AoeBootSlot>, Cleaner<AoeBootSlot> {
  /** Controller name. */
  public static final String NAME = "aoebootslot-agent";
  /** Seconds between two periodic reconciles of a slot with no event in between. */
  public static final int RESYNC_SECONDS = 300;
  private static final Logger LOG = LoggerFactory.getLogger(SlotReconciler.class);
  /** Delay before a teardown that could not finish is tried again. */
  static final Duration TEARDOWN_RETRY = Duration.ofSeconds(5);
  /**
   * Delay before a slot held back by another exporter of its target ({@link
   * SlotPlan.Verdict#heldByAnotherExporter}) is reconciled again: one observation, with a segment
   * scan of its interface at most {@link io.cowherd.agent.export.SegmentScanner#BEFORE_START} old.
   */
  static final Duration HELD_RECHECK = Duration.ofSeconds(10);
  /** Delay before a finalizer that could not be released is tried again (teardown done: it is idempotent). */
  static final Duration FINALIZER_RETRY = Duration.ofSeconds(1);
  /**
   * How long a teardown may take before its slot shows phase {@code Terminating}. A reflink slot's
   * teardown takes tens of milliseconds: writing the phase first cost every slot of a scale-down one
   * status write and one watch event in each JVM (issue 11); a dm-snapshot teardown, a stop that
   * waits for a slow exporter, or a teardown that fails and is retried still shows it.
   */
  public static final Duration TERMINATING_AFTER = Duration.ofMillis(500);
  /** Runs the delayed {@code Terminating} writes: a virtual thread each. */
  private static final java.util.concurrent.Executor VIRTUAL = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

  private final String nodeName;
  private final SlotObserver observer;
  private final SlotExecutor executor;
  private final SlotStatusWriter statusWriter;
  private final ExporterEvents exporterEvents;
  private final AttackReporter attacks;
  /** Waits {@link #TERMINATING_AFTER}, then runs a {@code Terminating} write. */
  private final java.util.concurrent.Executor marks = java.util.concurrent.CompletableFuture.delayedExecutor(
      TERMINATING_AFTER.toMillis(), TimeUnit.MILLISECONDS, VIRTUAL);

  /** @param attacks reports what the data path guard dropped or undid, as Events */
  public SlotReconciler(String nodeName, SlotObserver observer, SlotExecutor executor, SlotStatusWriter statusWriter,
      ExporterEvents exporterEvents, AttackReporter attacks) {
    this.nodeName = nodeName;
    this.observer = observer;
    this.executor = executor;
    this.statusWriter = statusWriter;
    this.exporterEvents = exporterEvents;
    this.attacks = attacks;
  }

  /** Label selector for this node's slots: {@code cowherd.io/node=<node>}. */
  public static String labelSelector(String nodeName) {
    return Names.NODE_LABEL + "=" + nodeName;
  }

  @Override
  public List<EventSource<?, AoeBootSlot>> prepareEventSources(EventSourceContext<AoeBootSlot> context) {
    return List.of(exporterEvents.eventSource());
  }

  @Override
  public UpdateControl<AoeBootSlot> reconcile(AoeBootSlot slot, Context<AoeBootSlot> context) {
    if (!isMine(slot)) {
      return UpdateControl.noUpdate();
    }
    if (slotId(slot).isPresent()) {
      SlotOwnership.requireManaged(slot); // before anything: a stray must not even claim exporter events
    }
    slotId(slot).ifPresent(id -> exporterEvents.remember(id, ResourceID.fromResource(slot), slot.getSpec().getInterface()));
    slotId(slot).ifPresent(id -> moveAsideAbandoned(slot, id));
    Optional<String> rebuild = Optional.ofNullable(slot.getSpec().getRebuild());
    if (rebuild.isPresent() && slotId(slot).isPresent()) {
      rebuild(slot, observer.validate(slot), rebuild.get()); // validated first: a bad new image keeps the old store
    }
    SlotObservation seen = observer.observe(slot);
    SlotPlan plan = SlotPlan.decide(seen);
    SlotOutcome done = executor.apply(plan, seen, Optional.ofNullable(slot.getMetadata().getUid()), rebuild);
    if (done.guard().isPresent()) {
      attacks.report(slot, seen.slot().id(), seen.slot().iface());
    }
    Optional<Captured> captured = capture(slot, seen, done);
    if (captured.isPresent() && captured.get().exporter().isPresent()) { // restarted for the copy
      done = new SlotOutcome(done.store(), done.usage(), captured.get().exporter(), done.guard(), done.unreserved(),
          done.origin());
    }
    UpdateControl<AoeBootSlot> control = statusWriter.patchIfChanged(slot, seen, plan, done,
        captured.map(Captured::result));
    if (SlotPlan.judge(plan, done).heldByAnotherExporter()) {
      // Held back by another exporter of the target (e.g. the one a lost node left running when
      // the slot moved here): look again soon, not only at the periodic reconcile RESYNC_SECONDS later.
      control.rescheduleAfter(HELD_RECHECK.toMillis());
    }
    return control;
  }

  @Override
  public ErrorStatusUpdateControl<AoeBootSlot> updateErrorStatus(AoeBootSlot slot, Context<AoeBootSlot> context,
      Exception e) {
    return statusWriter.updateErrorStatus(slot, e);
  }

  @Override
  public DeleteControl cleanup(AoeBootSlot slot, Context<AoeBootSlot> context) {
    Optional<SlotId> id = slotId(slot);
    if (!isMine(slot) || id.isEmpty()) {
      return DeleteControl.defaultDelete(); // nothing of it was ever built on this node
    }
    Optional<String> unmanaged = SlotOwnership.problem(slot);
    if (unmanaged.isPresent()) {
      // Host state is keyed by (namespace, pool, slot): it belongs to the slot the pool made, if any.
      LOG.warn("slot {}/{} deleted: {}", slot.getMetadata().getNamespace(), slot.getMetadata().getName(),
          unmanaged.get());
      return DeleteControl.defaultDelete();
    }
    SlotReclaim.OnDeletion action = SlotReclaim.onDeletion(slot);
    if (action == SlotReclaim.OnDeletion.KEEP_ALL) {
      // No reclaim mark from the operator: deleted by hand or by anything else. Nothing on the host
      // changes; the exporter keeps serving and the slot's next object adopts it and the COW store.
      executor.teardown(id.get(), Optional.empty(), action);
      exporterEvents.forget(id.get());
      statusWriter.hostStateKept(slot);
      LOG.info("slot {}: deleted without a reclaim mark; exporter and COW store kept; releasing finalizer", id.get());
      return DeleteControl.defaultDelete();
    }
    LateMark mark = LateMark.NONE;
    if (slot.getStatus() == null || slot.getStatus().getPhase() != SlotPhase.Terminating) {
      // Terminating is written once the teardown has run TERMINATING_AFTER, so a teardown that is slow
      // or stuck shows what it is doing while a quick one costs no write; the teardown runs in this
      // call, with no pause. When the phase was written, the finalizer is released by the status
      // writer (JOSDK's own removal conflicts with that write); else JOSDK removes it.
      String what = action == SlotReclaim.OnDeletion.REMOVE_ALL ? "tearing down: exporter, then devices and COW store"
          : "tearing down exporter and devices; reclaim policy Retain keeps the COW store";
      mark = LateMark.after(marks, () -> statusWriter.markTerminating(slot, what));
    }
    try {
      executor.teardown(id.get(), originHint(slot.getSpec()), action);
    } catch (ExporterStopException | TeardownIncompleteException | CommandFailedException
        | CommandTimedOutException | UncheckedIOException e) {
      LOG.warn("slot {}: teardown incomplete, retrying in {} s: {}", id.get(), TEARDOWN_RETRY.toSeconds(),
          e.getMessage());
      mark.settle();
      statusWriter.markTerminating(slot, "teardown incomplete, retrying: " + e.getMessage());
      statusWriter.teardownRetrying(slot, e);
      return DeleteControl.noFinalizerRemoval().rescheduleAfter(TEARDOWN_RETRY.toMillis());
    }
    Optional<AoeBootSlot> terminating = mark.settle();
    exporterEvents.forget(id.get());
    attacks.forget(id.get());
    LOG.info("slot {}: host objects removed ({}); releasing finalizer", id.get(), action);
    if (terminating.isPresent() && !statusWriter.releaseFinalizer(terminating.get(), slot)) {
      return DeleteControl.noFinalizerRemoval().rescheduleAfter(FINALIZER_RETRY.toMillis()); // host side is done
    }
    return DeleteControl.defaultDelete();
  }

  /**
   * A status write that runs only if the work it reports is still going on after a delay: {@link
   * #settle} either claims it before it started (it never runs) or waits for it and returns what it
   * wrote. Either way exactly one side decides, through one compare-and-set.
   */
  static final class LateMark {
    static final LateMark NONE = new LateMark(null);
    private final java.util.concurrent.atomic.AtomicBoolean decided = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.concurrent.CompletableFuture<Optional<AoeBootSlot>> written;

    private LateMark(java.util.concurrent.CompletableFuture<Optional<AoeBootSlot>> written) {
      this.written = written;
    }

    /** Runs {@code write} on {@code delayed} (an executor that waits first) unless {@link #settle} came first. */
    static LateMark after(java.util.concurrent.Executor delayed, java.util.function.Supplier<Optional<AoeBootSlot>> write) {
      LateMark mark = new LateMark(new java.util.concurrent.CompletableFuture<>());
      delayed.execute(() -> {
        if (!mark.decided.compareAndSet(false, true)) {
          return; // settled first: nothing to write
        }
        try {
          mark.written.complete(write.get());
        } catch (RuntimeException e) {
          mark.written.complete(Optional.empty()); // markTerminating logs its own failures
        }
      });
      return mark;
    }

    /** The object the write returned, if it ran (waiting for it if it is running); empty if it never will. */
    Optional<AoeBootSlot> settle() {
      if (written == null || decided.compareAndSet(false, true)) {
        return Optional.empty();
      }
      return written.join();
    }
  }

  /**
   * A slot recreated after the user abandoned its predecessor's data ({@link
   * SlotReclaim#ABANDONED_STORE_ANNOTATION}) never adopts that predecessor's COW store: it is moved
   * aside (kept, reported unclaimed) before the host is observed, and an Event says where it went.
   */
  private void moveAsideAbandoned(AoeBootSlot slot, SlotId id) {
    List<Path> moved = executor.moveAsideAbandoned(slot, id, originHint(slot.getSpec()), Instant.now());
    if (!moved.isEmpty()) {
      String message = "the data of slot object " + SlotReclaim.abandonedStoreOf(slot).orElseThrow() + " was abandoned ("
          + SlotReclaim.ABANDON_ANNOTATION + "): its exporter was stopped and its COW store moved aside to " + moved
          + " (kept, not deleted; remove it by hand); this slot starts from an empty COW store";
      LOG.warn("slot {}: {}", id, message);
      statusWriter.abandonedStoreMovedAside(slot, message);
    }
  }

  /**
   * Discards the slot's COW store when it was built for another rebuild token ({@code
   * spec.rebuild}: a reset, or a move under {@code OnReboot}); the observation that follows builds
   * a new one from {@code spec.image}. A Normal Event {@code Rebuilt} names the old and the new
   * origin with their identities.
   */
  private void rebuild(AoeBootSlot slot, ValidatedSlot valid, String token) {
    List<SlotExecutor.Rebuilt> done = executor.rebuildIfRequested(valid.id(), token);
    for (SlotExecutor.Rebuilt old : done) {
      String now = io.cowherd.agent.backend.OriginIdentity.of(valid.origin()).format();
      String message = "rebuilt for " + token + ": COW store " + old.store() + " discarded (built from " + old.oldOrigin()
          + " [" + old.oldIdentity().map(io.cowherd.agent.backend.OriginIdentity::format).orElse("identity unknown")
          + "]" + old.oldToken().map(t -> " for " + t).orElse("") + "); new store from " + valid.origin() + " [" + now
          + "]";
      LOG.info("slot {}: {}", valid.id(), message);
      statusWriter.rebuilt(slot, message);
    }
  }

  /**
   * Carries out a new {@code spec.capture} (one the status does not report yet) once the slot has
   * a store: checks the target ({@link SlotValidator#captureTarget}), copies ({@link
   * SlotExecutor#capture}) and records Event {@code Captured} or {@code CaptureFailed}. Refused
   * when the origin changed under the slot (the disk would be a mix). Each path is tried once: a
   * failure is reported, not retried (ask again with another path).
   *
   * @return the outcome to report in {@code status.capture} and the exporter started again after the
   *     copy, if it was stopped; empty when nothing new was asked
   */
  private Optional<Captured> capture(AoeBootSlot slot, SlotObservation seen, SlotOutcome done) {
    String wanted = slot.getSpec().getCapture();
    SlotCapture last = slot.getStatus() == null ? null : slot.getStatus().getCapture();
    if (wanted == null || last != null && wanted.equals(last.getPath()) || done.store().isEmpty()) {
      return Optional.empty();
    }
    SlotCapture result;
    Optional<io.cowherd.agent.export.ExporterState> exporter = Optional.empty();
    try {
      Optional<String> changed = done.origin().flatMap(io.cowherd.agent.backend.OriginStamp.Verdict::change);
      if (changed.isPresent()) {
        throw new InvalidSlotException("origin " + seen.slot().origin() + " " + changed.get() + " since this slot's COW"
            + " store was made: its disk is not the one its client wrote; a capture would copy a mix");
      }
      java.nio.file.Path target = observer.captureTarget(wanted);
      SlotExecutor.Captured c = executor.capture(seen, done.store().get(), target);
      exporter = c.exporter();
      result = new SlotCapture(wanted, SlotCapture.CAPTURED, "captured " + seen.slot().origin() + " with the slot's"
          + " COW data (" + seen.slot().backend().wireName() + (c.exporterStopped() ? ": exporter stopped during the copy"
          : ": clone, exporter kept running") + ") into " + c.path() + " [" + c.identity().format() + "]: "
          + c.sizeBytes() + " bytes in " + c.took().toMillis() + " ms");
      result.setIdentity(c.identity().format());
      result.setSizeBytes(c.sizeBytes());
      result.setDurationMillis(c.took().toMillis());
      statusWriter.captured(slot, true, result.getMessage());
    } catch (UncheckedIOException e) { // says itself whether the copy reached the target
      result = new SlotCapture(wanted, SlotCapture.FAILED, e.getMessage());
      statusWriter.captured(slot, false, result.getMessage());
    } catch (InvalidSlotException | CommandFailedException | CommandTimedOutException e) {
      result = new SlotCapture(wanted, SlotCapture.FAILED, "capture to " + wanted + " failed, nothing written: "
          + e.getMessage());
      statusWriter.captured(slot, false, result.getMessage());
    }
    LOG.info("slot {}: {}", seen.slot().id(), result.getMessage());
    result.setFinishedAt(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
    return Optional.of(new Captured(result, exporter));
  }

  /** A capture's status and the exporter started again after its copy, if it was stopped. */
  private record Captured(SlotCapture result, Optional<io.cowherd.agent.export.ExporterState> exporter) {}

  private boolean isMine(AoeBootSlot slot) {
    String wanted = slot.getSpec() == null ? null : slot.getSpec().getNodeName();
    if (!nodeName.equals(wanted)) {
      LOG.warn("slot {}/{} is labelled for node {} but spec.nodeName is {}; skipping it",
          slot.getMetadata().getNamespace(), slot.getMetadata().getName(), nodeName, wanted);
      return false;
    }
    return true;
  }

  /** The slot's host identity, or empty if its spec cannot name one (then nothing was built). */
  static Optional<SlotId> slotId(AoeBootSlot slot) {
    AoeBootSlotSpec spec = slot.getSpec();
    if (spec == null || spec.getPool() == null || spec.getSlot() == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(new SlotId(slot.getMetadata().getNamespace(), spec.getPool(), spec.getSlot()));
    } catch (IllegalArgumentException e) {
      LOG.warn("slot {}/{} has no valid host identity: {}", slot.getMetadata().getNamespace(),
          slot.getMetadata().getName(), e.getMessage());
      return Optional.empty();
    }
  }

  /** The origin's real path if it still resolves, else the path as written. */
  private static Optional<Path> originHint(AoeBootSlotSpec spec) {
    if (spec.getImage() == null) {
      return Optional.empty();
    }
    Path image = Path.of(spec.getImage());
    try {
      return Optional.of(image.toRealPath());
    } catch (IOException e) {
      return Optional.of(image);
    }
  }
}
