package io.cowherd.agent.slot;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cowherd.agent.backend.BackendUnavailableException;
import io.cowherd.agent.backend.CowStore;
import io.cowherd.agent.backend.CowUsage;
import io.cowherd.agent.backend.HostConflictException;
import io.cowherd.agent.backend.InsufficientSpaceException;
import io.cowherd.agent.backend.OriginChangedException;
import io.cowherd.agent.backend.OriginStamp;
import io.cowherd.agent.backend.TeardownIncompleteException;
import io.cowherd.agent.export.ExporterState;
import io.cowherd.agent.export.ExporterStopException;
import io.cowherd.agent.export.SegmentScanException;
import io.cowherd.agent.host.CommandFailedException;
import io.cowherd.agent.host.CommandTimedOutException;
import io.cowherd.agent.inventory.SpaceLevel;
import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.SlotOrigin;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes slot status (the agent writes all of it but {@code conditions}, which belong to the
 * operator's liveness writer): builds a fresh object holding only name, namespace and the agent's
 * status fields, and patches only when those changed, so a steady state makes no API writes and the
 * operator's condition is never copied, owned or wiped by the agent. {@link #updateErrorStatus} is the one place exceptions become a phase, a message and an
 * Event.
 */
public final class SlotStatusWriter {
  private static final Logger LOG = LoggerFactory.getLogger(SlotStatusWriter.class);
  private static final ObjectMapper COPIER = new ObjectMapper();
  /** strerror(ENOSPC), as tools (LC_ALL=C) and the JDK report a full filesystem. */
  private static final String ENOSPC = "No space left on device";
  /** Most JSON patches {@link #releaseFinalizer} sends. */
  static final int FINALIZER_ATTEMPTS = 5;
  /** When a non-retryable failure is looked at again (the node may have changed). */
  static final Duration RECHECK_AFTER = Duration.ofSeconds(60);

  /** Event reason: a COW store whose data was abandoned was moved aside before this slot was provisioned. */
  public static final String ABANDONED_STORE_MOVED_ASIDE = "AbandonedStoreMovedAside";
  private final SlotEventRecorder events;
  private final KubernetesClient client;
  /** Per slot ({@code namespace/name}): the COW level last warned about; lower again when it fell. */
  private final Map<String, SpaceLevel> cowWarned = new ConcurrentHashMap<>();
  /** Slots ({@code namespace/name}) already warned that their store is not fully reserved. */
  private final Set<String> unreservedWarned = ConcurrentHashMap.newKeySet();
  /** Serving slots ({@code namespace/name}) already warned that their origin changed under them. */
  private final Set<String> originWarned = ConcurrentHashMap.newKeySet();
  private volatile Function<AoeBootSlot, Optional<String>> clientStages = slot -> Optional.empty();
  /** The state dir level last warned about (one Event per rise for the whole node). */
  private SpaceLevel stateDirWarned = SpaceLevel.OK;

  /**
   * @param events where Events go
   * @param client used only for writes outside a reconcile's return value (phase {@code
   *     Terminating} during cleanup, and then the agent's finalizer: {@link #releaseFinalizer})
   */
  public SlotStatusWriter(SlotEventRecorder events, KubernetesClient client) {
    this.events = events;
    this.client = client;
  }

  /**
   * Where {@code status.clientStage} comes from: the boot stage of a slot's bound client as the
   * I/O watch sees it (e.g. {@link io.cowherd.agent.boot.IoStageReporter#stageOf}); none until set.
   */
  public void clientStages(Function<AoeBootSlot, Optional<String>> stages) {
    this.clientStages = Objects.requireNonNull(stages);
  }

  /** How an exception is reported. */
  record ErrorVerdict(SlotPhase phase, String reason, String message, boolean retry) {}

  /** Status after a successful reconcile; patched (and an Event recorded) only if it changed. */
  public UpdateControl<AoeBootSlot> patchIfChanged(AoeBootSlot slot, SlotObservation seen, SlotPlan plan,
      SlotOutcome done) {
    return patchIfChanged(slot, seen, plan, done, Optional.empty());
  }

  /**
   * {@link #patchIfChanged(AoeBootSlot, SlotObservation, SlotPlan, SlotOutcome)} with the outcome
   * of a capture made in this reconcile ({@code status.capture}); without one the slot's last
   * capture outcome is kept.
   */
  public UpdateControl<AoeBootSlot> patchIfChanged(AoeBootSlot slot, SlotObservation seen, SlotPlan plan,
      SlotOutcome done, Optional<io.cowherd.api.v1alpha1.SlotCapture> captured) {
    SlotPlan.Verdict verdict = SlotPlan.judge(plan, done);
    AoeBootSlotStatus status = statusOf(slot, seen, done, verdict);
    status.setCapture(captured.orElse(slot.getStatus() == null ? null : slot.getStatus().getCapture()));
    // A bound slot whose client the watch has not seen since the agent started keeps its last stage
    // (an agent restart writes no status); a slot bound to no MAC shows none.
    boolean bound = slot.getSpec() != null && slot.getSpec().getAllowedMacs() != null
        && !slot.getSpec().getAllowedMacs().isEmpty();
    status.setClientStage(clientStages.apply(slot)
        .orElse(bound && slot.getStatus() != null ? slot.getStatus().getClientStage() : null));
    warnAboutSpace(slot, seen, done);
    warnAboutOrigin(slot, done, verdict);
    if (sameAgentFields(status, slot.getStatus())) {
      return UpdateControl.noUpdate();
    }
    recordIfNew(slot, verdict.phase(), verdict.reason(), verdict.message());
    return UpdateControl.patchStatus(fresh(slot, status));
  }

  /**
   * Maps {@code e} to phase {@code Failed} (or {@code Terminating}) with a message and an Event.
   * Spec and node problems are not retried (re-checked after {@link #RECHECK_AFTER}); host command
   * failures go through JOSDK's retry.
   */
  public ErrorStatusUpdateControl<AoeBootSlot> updateErrorStatus(AoeBootSlot slot, Exception e) {
    ErrorVerdict v = classify(e);
    LOG.warn("slot {}/{}: {}: {}", slot.getMetadata().getNamespace(), slot.getMetadata().getName(), v.reason(),
        v.message(), v.retry() ? e : null);
    AoeBootSlotStatus status = copy(slot.getStatus());
    status.setPhase(v.phase());
    status.setMessage(v.message());
    status.setObservedGeneration(slot.getMetadata().getGeneration());
    if (slot.getSpec() != null && slot.getSpec().getShelf() != null && slot.getSpec().getSlot() != null) {
      status.setTarget(Names.target(slot.getSpec().getShelf(), slot.getSpec().getSlot()));
      status.setBackend(slot.getSpec().cowOrDefault().backendOrDefault().wireName());
    }
    ErrorStatusUpdateControl<AoeBootSlot> control;
    if (status.equals(agentFields(slot.getStatus()))) {
      control = ErrorStatusUpdateControl.noStatusUpdate();
    } else {
      recordIfNew(slot, v.phase(), v.reason(), v.message());
      control = ErrorStatusUpdateControl.patchStatus(fresh(slot, status));
    }
    return v.retry() ? control : control.withNoRetry().rescheduleAfter(RECHECK_AFTER);
  }

  /**
   * Sets phase {@code Terminating} with {@code message} (JSON merge patch of the status).
   *
   * @return the slot as the API server stored it after the write; empty if nothing was written (the
   *     status already says so, or the write failed: a failed write is logged and must not hold up
   *     teardown)
   */
  public Optional<AoeBootSlot> markTerminating(AoeBootSlot slot, String message) {
    AoeBootSlotStatus status = copy(slot.getStatus());
    status.setPhase(SlotPhase.Terminating);
    status.setMessage(message);
    if (status.equals(agentFields(slot.getStatus()))) {
      return Optional.empty();
    }
    try {
      return Optional.ofNullable(client.resource(fresh(slot, status)).patchStatus());
    } catch (KubernetesClientException e) {
      LOG.warn("slot {}/{}: cannot set phase Terminating: {}", slot.getMetadata().getNamespace(),
          slot.getMetadata().getName(), e.getMessage());
      return Optional.empty();
    }
  }

  /**
   * Removes the agent's finalizer {@value Names#SLOT_FINALIZER} from a slot whose status this
   * cleanup wrote ({@code written}: the object that write returned), then from {@code local} (the
   * object JOSDK handed to the cleanup), so JOSDK does not remove it a second time.
   *
   * <p>Why not leave it to JOSDK: JOSDK 5.2 diffs the object it handed to the cleanup against the
   * changed one and, on a conflict, re-reads and diffs again against that same stale object; after
   * a status write in the same call every attempt fails ({@code Exceeded maximum (10) retry
   * attempts}, seen in the scale benchmark), so the slot waited for a later event. Here: a JSON
   * patch that tests the finalizer at its index and removes it (no resourceVersion precondition:
   * other writes to the object do not conflict with it), re-read and tried again on a conflict, at
   * most {@value #FINALIZER_ATTEMPTS} times.
   *
   * @return whether the finalizer is gone (false: the patch failed, logged; {@code local} keeps it)
   */
  public boolean releaseFinalizer(AoeBootSlot written, AoeBootSlot local) {
    String namespace = local.getMetadata().getNamespace();
    String name = local.getMetadata().getName();
    AoeBootSlot current = written;
    for (int attempt = 1; ; attempt++) {
      List<String> finalizers = current == null || current.getMetadata().getFinalizers() == null
          ? List.of() : current.getMetadata().getFinalizers();
      int index = finalizers.indexOf(Names.SLOT_FINALIZER);
      if (index < 0) {
        break; // gone already (or the object is)
      }
      String patch = "[{\"op\":\"test\",\"path\":\"/metadata/finalizers/" + index + "\",\"value\":\""
          + Names.SLOT_FINALIZER + "\"},{\"op\":\"remove\",\"path\":\"/metadata/finalizers/" + index + "\"}]";
      try {
        client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name)
            .patch(PatchContext.of(PatchType.JSON), patch);
        break;
      } catch (KubernetesClientException e) {
        if (e.getCode() == 404) {
          break;
        }
        if ((e.getCode() != 409 && e.getCode() != 422) || attempt >= FINALIZER_ATTEMPTS) {
          LOG.warn("slot {}/{}: cannot remove finalizer {}: {}", namespace, name, Names.SLOT_FINALIZER, e.getMessage());
          return false;
        }
        current = client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name).get();
      }
    }
    local.removeFinalizer(Names.SLOT_FINALIZER);
    return true;
  }

  /** Records a Warning Event {@value #ABANDONED_STORE_MOVED_ASIDE} with {@code message} on {@code slot}. */
  public void abandonedStoreMovedAside(AoeBootSlot slot, String message) {
    events.record(slot, SlotEventRecorder.WARNING, ABANDONED_STORE_MOVED_ASIDE, message);
  }

  /** Records Event {@code Captured} (Normal) or {@code CaptureFailed} (Warning) with {@code message}. */
  public void captured(AoeBootSlot slot, boolean ok, String message) {
    events.record(slot, ok ? SlotEventRecorder.NORMAL : SlotEventRecorder.WARNING, ok ? "Captured" : "CaptureFailed",
        message);
  }

  /** Records a Normal Event {@code Rebuilt}: the slot's COW store was discarded and is rebuilt (old and new origin). */
  public void rebuilt(AoeBootSlot slot, String message) {
    events.record(slot, SlotEventRecorder.NORMAL, "Rebuilt", message);
  }

  /** Records a Normal Event: the slot was deleted without a reclaim mark, so its host state stays. */
  public void hostStateKept(AoeBootSlot slot) {
    events.record(slot, SlotEventRecorder.NORMAL, "HostStateKept", "deleted without a reclaim mark from the operator:"
        + " exporter and COW store kept on this node (the client keeps its disk); the slot's next object adopts them");
  }

  /**
   * Warning Events when space runs short: the slot's COW store reaching 80% / 95% of its sectors
   * ({@code CowStoreFilling}), the state dir's filesystem reaching 80% / 95% ({@code
   * StateDirFilling}, once per rise for the node, on the slot reconciled first), and a store whose
   * space could not be reserved ({@code CowNotReserved}, once per slot). Each level is warned once
   * on the way up; it may be warned again after falling below it. (Remembered in this agent's
   * memory: a restarted agent warns once more.)
   */
  void warnAboutSpace(AoeBootSlot slot, SlotObservation seen, SlotOutcome done) {
    String key = slot.getMetadata().getNamespace() + "/" + slot.getMetadata().getName();
    if (done.usage().orElse(null) instanceof CowUsage.Sectors u) {
      SpaceLevel level = SpaceLevel.of(u.usedSectors(), u.totalSectors());
      SpaceLevel before = cowWarned.getOrDefault(key, SpaceLevel.OK);
      if (level.compareTo(before) > 0) {
        events.record(slot, SlotEventRecorder.WARNING, "CowStoreFilling", "COW store is "
            + SpaceLevel.percentOf(u.usedSectors(), u.totalSectors()) + "% used (" + u.usedSectors() + " of "
            + u.totalSectors() + " sectors)");
      }
      cowWarned.put(key, level);
    }
    seen.stateDir().ifPresent(r -> {
      SpaceLevel level = r.level();
      boolean rose;
      synchronized (this) {
        rose = level.compareTo(stateDirWarned) > 0;
        stateDirWarned = level;
      }
      if (rose) {
        events.record(slot, SlotEventRecorder.WARNING, "StateDirFilling", r.warning());
      }
    });
    if (done.unreserved().isEmpty()) {
      unreservedWarned.remove(key);
    } else if (unreservedWarned.add(key)) {
      events.record(slot, SlotEventRecorder.WARNING, "CowNotReserved", done.unreserved().get());
    }
  }

  /**
   * Warning Event {@code OriginChanged} once per slot (per agent life) while its origin differs from
   * what its store was made from and the slot still serves (a reflink clone is a file of its own,
   * unaffected). A slot stopped for it is {@code Failed} with the same reason, whose Event comes
   * with the phase change.
   */
  void warnAboutOrigin(AoeBootSlot slot, SlotOutcome done, SlotPlan.Verdict verdict) {
    String key = slot.getMetadata().getNamespace() + "/" + slot.getMetadata().getName();
    Optional<String> change = done.origin().flatMap(OriginStamp.Verdict::change);
    if (change.isEmpty()) {
      originWarned.remove(key);
    } else if (verdict.phase() != SlotPhase.Failed && originWarned.add(key)) {
      events.record(slot, SlotEventRecorder.WARNING, SlotPlan.ORIGIN_CHANGED, "origin " + done.origin().get().path()
          + " " + change.get() + " since this slot's reflink clone was made; the slot keeps serving its own clone"
          + " (unaffected), but no new slot of this pool is made from the changed file");
    }
  }

  /** Records a Warning Event for a teardown that must be retried. */
  public void teardownRetrying(AoeBootSlot slot, Exception e) {
    events.record(slot, SlotEventRecorder.WARNING, classify(e).reason(), "teardown incomplete, retrying: " + e.getMessage());
  }

  /** The one mapping of exceptions to phase, Event reason, message and retry. */
  static ErrorVerdict classify(Exception e) {
    Throwable t = e;
    while (!isOurs(t) && t.getCause() != null) {
      t = t.getCause();
    }
    String m = Objects.requireNonNullElse(t.getMessage(), t.toString());
    return switch (t) {
      case UnmanagedSlotException _ -> new ErrorVerdict(SlotPhase.Failed, "NotManagedByPool", m, false);
      case InvalidSlotException _ -> new ErrorVerdict(SlotPhase.Failed, "InvalidSpec", m, false);
      case BackendUnavailableException _ -> new ErrorVerdict(SlotPhase.Failed, "BackendUnavailable", m, false);
      case HostConflictException _ -> new ErrorVerdict(SlotPhase.Failed, "HostConflict", m, false);
      case InsufficientSpaceException _ -> new ErrorVerdict(SlotPhase.Failed, "InsufficientSpace", m, false);
      case OriginChangedException _ -> new ErrorVerdict(SlotPhase.Failed, SlotPlan.ORIGIN_CHANGED, m, false);
      case CommandFailedException _ when m.contains(ENOSPC) -> new ErrorVerdict(SlotPhase.Failed, "StateDirFull", m, true);
      case UncheckedIOException _ when m.contains(ENOSPC) -> new ErrorVerdict(SlotPhase.Failed, "StateDirFull", m, true);
      case CommandFailedException _ -> new ErrorVerdict(SlotPhase.Failed, "CommandFailed", m, true);
      case CommandTimedOutException _ -> new ErrorVerdict(SlotPhase.Failed, "CommandTimedOut", m, true);
      case ExporterStopException _ -> new ErrorVerdict(SlotPhase.Failed, "ExporterStopFailed", m, true);
      case SegmentScanException _ -> new ErrorVerdict(SlotPhase.Failed, "SegmentCheckFailed", m, true);
      case TeardownIncompleteException _ -> new ErrorVerdict(SlotPhase.Terminating, "TeardownIncomplete", m, true);
      case UncheckedIOException _ -> new ErrorVerdict(SlotPhase.Failed, "HostIOError", m, true);
      default -> new ErrorVerdict(SlotPhase.Failed, "InternalError", t.toString(), true);
    };
  }

  private static boolean isOurs(Throwable t) {
    return t instanceof InvalidSlotException || t instanceof BackendUnavailableException
        || t instanceof HostConflictException || t instanceof CommandFailedException
        || t instanceof CommandTimedOutException || t instanceof ExporterStopException
        || t instanceof TeardownIncompleteException || t instanceof UncheckedIOException
        || t instanceof SegmentScanException || t instanceof InsufficientSpaceException
        || t instanceof OriginChangedException;
  }

  /** The full status for a reconcile outcome. Reads only the store's origin stamp and resolves the pool image's path. */
  static AoeBootSlotStatus statusOf(AoeBootSlot slot, SlotObservation seen, SlotOutcome done, SlotPlan.Verdict verdict) {
    AoeBootSlotStatus s = new AoeBootSlotStatus();
    s.setObservedGeneration(slot.getMetadata().getGeneration());
    s.setPhase(verdict.phase());
    s.setMessage(verdict.message());
    s.setTarget(Names.target(seen.slot().shelf(), seen.slot().id().slot()));
    s.setBackend(seen.slot().backend().wireName());
    s.setSizeSectors(seen.request().sizeSectors());
    Optional<CowStore> store = done.store();
    store.ifPresent(st -> {
      s.setCowStorePath(st.cowStorePath().toString());
      s.setExportPath(st.exportPath().toString());
      s.setOriginLoop(st.originLoop());
      s.setCowLoop(st.cowLoop());
      s.setDmName(st.dmName());
    });
    if (done.usage().orElse(null) instanceof CowUsage.Sectors u) {
      s.setCowUsage(u.usedSectors(), u.totalSectors());
    }
    done.exporter().ifPresent(e -> exporterFields(s, e));
    done.guard().ifPresent(g -> s.setGuard(g.summary()));
    done.origin().ifPresent(o -> {
      SlotOrigin origin = new SlotOrigin(o.path().toString(), o.serves().format(),
          o.change().isPresent(), o.change().isPresent() ? o.current().format() : null);
      origin.setStale(stale(slot, o.path()));
      origin.setRebuild(done.store().flatMap(st -> OriginStamp.read(st.cowStorePath()))
          .flatMap(OriginStamp.Stamp::rebuild).orElse(null));
      s.setOrigin(origin);
    });
    return s;
  }

  /** Whether the pool's image ({@code spec.poolImage}) is another file than {@code served} (compared by real path). */
  static boolean stale(AoeBootSlot slot, java.nio.file.Path served) {
    String pool = slot.getSpec() == null ? null : slot.getSpec().poolImageOrImage();
    if (pool == null) {
      return false;
    }
    java.nio.file.Path poolImage = java.nio.file.Path.of(pool);
    try {
      poolImage = poolImage.toRealPath();
    } catch (java.io.IOException e) {
      // not resolvable here: compare as written
    }
    return !poolImage.equals(served);
  }

  private static void exporterFields(AoeBootSlotStatus s, ExporterState e) {
    s.setExporterPid(e.pid());
    s.setRestarts(e.restarts());
    s.setLastExitCode(e.lastExitCode());
    s.setLastExporterError(e.lastError());
  }

  private void recordIfNew(AoeBootSlot slot, SlotPhase phase, String reason, String message) {
    AoeBootSlotStatus old = slot.getStatus();
    if (old != null && old.getPhase() == phase && Objects.equals(old.getMessage(), message)) {
      return;
    }
    if (phase == SlotPhase.Failed) {
      events.record(slot, SlotEventRecorder.WARNING, reason, message);
    } else if (phase == SlotPhase.Serving && (old == null || old.getPhase() != SlotPhase.Serving)) {
      events.record(slot, SlotEventRecorder.NORMAL, reason, message);
    }
  }

  private static AoeBootSlotStatus copy(AoeBootSlotStatus status) {
    AoeBootSlotStatus own = status == null ? new AoeBootSlotStatus() : COPIER.convertValue(status, AoeBootSlotStatus.class);
    own.setConditions(null);
    return own;
  }

  /**
   * Whether {@code ours} (a status this writer built, holding no {@code conditions}) equals the
   * agent's fields of {@code seen}: compared in place, without copying {@code seen} (the check runs
   * on every reconcile of every slot, and a Jackson copy was most of its cost when idle).
   * {@code ours} is left as it was.
   */
  static boolean sameAgentFields(AoeBootSlotStatus ours, AoeBootSlotStatus seen) {
    if (seen == null) {
      return false;
    }
    var mine = ours.getConditions();
    ours.setConditions(seen.getConditions()); // conditions are the operator's: never part of the comparison
    try {
      return ours.equals(seen);
    } finally {
      ours.setConditions(mine);
    }
  }

  /**
   * The fields of {@code status} the agent writes: a copy without {@code conditions} (the
   * operator's), or null for null.
   */
  static AoeBootSlotStatus agentFields(AoeBootSlotStatus status) {
    return status == null ? null : copy(status);
  }

  /**
   * A resource holding only name, namespace and {@code status}: server-side apply's full intent.
   * {@code status.conditions} is left out: only the operator writes it.
   */
  static AoeBootSlot fresh(AoeBootSlot slot, AoeBootSlotStatus status) {
    status.setConditions(null);
    AoeBootSlot fresh = new AoeBootSlot();
    fresh.setMetadata(new ObjectMetaBuilder()
        .withName(slot.getMetadata().getName())
        .withNamespace(slot.getMetadata().getNamespace())
        .build());
    fresh.setStatus(status);
    return fresh;
  }
}
