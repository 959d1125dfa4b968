package io.cowherd.agent.slot;

import io.cowherd.agent.backend.CowUsage;
import io.cowherd.agent.export.DuplicateExporter;
import io.cowherd.agent.export.ExporterState;
import io.cowherd.agent.host.NetLinks;
import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.SlotPhase;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What to do for one slot, decided from what exists: pure, records in and out.
 *
 * @param steps host changes in order (empty: nothing to change)
 * @param blockedBecause why the slot must not be served (then {@code steps} is at most {@link
 *     Step#STOP_EXPORTER}: our exporter must not run next to another exporter of the target)
 * @param writesFailing why the slot is served but client writes fail (state dir full): phase
 *     {@code Failed}, the exporter keeps running (reads work) and nothing is deleted
 */
public record SlotPlan(List<Step> steps, Optional<Blocked> blockedBecause, Optional<Blocked> writesFailing) {
  /**
   * Why a slot must not be served.
   *
   * @param reason one CamelCase word
   * @param message for humans
   */
  public record Blocked(String reason, String message) {}

  /** Reason of a slot refused (or stopped) because another MAC answers for its target: {@link DuplicateExporter}. */
  public static final String DUPLICATE_EXPORTER = "DuplicateExporter";

  /** Reason of a slot whose interface does not exist on the node: {@link NetLinks.State#MISSING}. */
  public static final String INTERFACE_MISSING = "InterfaceMissing";

  /** Reason of a slot whose interface is administratively down: {@link NetLinks.State#DOWN}. */
  public static final String INTERFACE_DOWN = "InterfaceDown";

  /**
   * Reason of a slot whose origin changed since its COW store was made ({@link
   * io.cowherd.agent.backend.OriginStamp}): a dm-snapshot slot stops serving; a reflink slot keeps
   * serving its own clone and is reported.
   */
  public static final String ORIGIN_CHANGED = "OriginChanged";

  /** Consecutive quick exits after which an exporter counts as failing rather than starting. */
  static final int FAILING_AFTER_EXITS = 3;

  /** One host change. */
  public enum Step {
    /** Build (or complete) the COW store; reuses whatever exists. */
    PROVISION_COW_STORE,
    /**
     * Stop the exporter: it serves a store that no longer exists (e.g. a deleted clone), or
     * another exporter of the target appeared (on this host or on the segment).
     */
    STOP_EXPORTER,
    /** Make the exporter run with the wanted target (start, adopt or replace). */
    ENSURE_EXPORTER
  }

  public SlotPlan {
    steps = List.copyOf(steps);
  }

  /** A plan with no write failure. */
  public SlotPlan(List<Step> steps, Optional<Blocked> blockedBecause) {
    this(steps, blockedBecause, Optional.empty());
  }

  /**
   * What to report.
   *
   * @param phase slot phase
   * @param reason one CamelCase word, also the Event reason
   * @param message for humans
   */
  public record Verdict(SlotPhase phase, String reason, String message) {
    /**
     * True when the slot is held back by another exporter of its target, on this host ({@code
     * ExporterConflict}) or on the segment ({@link #DUPLICATE_EXPORTER}): nothing on this slot
     * changes when that one goes away (another node's exporter, a process the agent does not
     * watch), so the slot must be looked at again soon rather than at the periodic reconcile.
     */
    public boolean heldByAnotherExporter() {
      return EXPORTER_CONFLICT.equals(reason) || DUPLICATE_EXPORTER.equals(reason);
    }
  }

  /** Reason of a slot whose target another vblade on this host exports. */
  public static final String EXPORTER_CONFLICT = "ExporterConflict";

  /** Decides the steps for {@code seen}. */
  public static SlotPlan decide(SlotObservation seen) {
    String target = seen.wanted().aoeName();
    if (seen.otherBackendStore().isPresent()) {
      return blocked("BackendChanged", "slot already has a COW store of the other backend at " + seen.otherBackendStore().get()
          + "; changing spec.cow.backend of an existing slot would hide its writes: restore the backend, or delete"
          + " the slot to start over");
    }
    if (seen.originChange().isPresent() && seen.slot().backend() == CowBackend.DM_SNAPSHOT) {
      // The snapshot reads every chunk the client never wrote from the origin file through its
      // loop device: the client now sees old chunks over new origin blocks, a disk that never
      // existed. Stop serving it (reads too: a filesystem that mounts a mixed disk can spread the
      // damage into the COW store); keep the COW store and devices for recovery.
      List<Step> stop = seen.exporter().isPresent() ? List.of(Step.STOP_EXPORTER) : List.of();
      return blocked(stop, ORIGIN_CHANGED, "origin " + seen.slot().origin() + " " + seen.originChange().get()
          + " since this slot's COW store was made: the dm-snapshot would serve the client's writes over different"
          + " origin blocks, so the exporter is stopped; the COW store " + seen.store().get().cowStorePath()
          + " and its devices are kept. Put the original origin back (or see docs/install.md, \"Updating the"
          + " origin\")");
    }
    if (seen.link() != NetLinks.State.UP) {
      // A host fault, not a spec error: vblade cannot run (it exits with ENETDOWN), so its restarts
      // stop and status shows no exporter; the link watcher brings the slot back when the link does.
      List<Step> stop = seen.exporter().isPresent() ? List.of(Step.STOP_EXPORTER) : List.of();
      return seen.link() == NetLinks.State.MISSING
          ? blocked(stop, INTERFACE_MISSING, "interface " + seen.wanted().iface() + " does not exist on this node"
              + " (host fault: NIC removed, renamed or not yet created); the exporter starts within seconds of it"
              + " appearing")
          : blocked(stop, INTERFACE_DOWN, "interface " + seen.wanted().iface() + " is down (host fault); the"
              + " exporter starts within seconds of it coming up");
    }
    // Another exporter of the target: ours must not run beside it (a duplicate corrupts client data).
    List<Step> stopOurs = seen.exporterRunning() ? List.of(Step.STOP_EXPORTER) : List.of();
    if (seen.foreignExporter().isPresent()) {
      return blocked(stopOurs, EXPORTER_CONFLICT, conflictMessage(target, seen.foreignExporter().get()));
    }
    if (seen.duplicate().isPresent()) {
      return blocked(stopOurs, DUPLICATE_EXPORTER, seen.duplicate().get().message());
    }
    List<Step> steps = new ArrayList<>();
    Optional<ExporterState> ex = seen.exporter();
    if (seen.store().isEmpty()) {
      steps.add(Step.PROVISION_COW_STORE);
      if (ex.filter(ExporterState::running).isPresent()) {
        steps.add(Step.STOP_EXPORTER);
      }
    }
    // Current = the wanted target, unblocked, and running or with a restart due: an exporter that is
    // neither (its start failed) is ensured again, so no failure leaves a slot without one for good.
    boolean current = ex.filter(e -> e.target().equals(seen.wanted()) && e.conflict() == null && e.duplicate() == null
        && (e.running() || e.nextRestartAt() != null)).isPresent();
    if (!current || steps.contains(Step.STOP_EXPORTER)) {
      steps.add(Step.ENSURE_EXPORTER);
    }
    return new SlotPlan(steps, Optional.empty(), seen.stateDirFull().map(m -> new Blocked("StateDirFull", m)));
  }

  /** The phase and message for what {@code plan} led to. */
  public static Verdict judge(SlotPlan plan, SlotOutcome done) {
    if (plan.blockedBecause().isPresent()) {
      Blocked b = plan.blockedBecause().get();
      return new Verdict(SlotPhase.Failed, b.reason(), b.message());
    }
    if (done.usage().orElse(null) instanceof CowUsage.Broken broken) {
      if (broken.reason().contains("Overflow")) {
        return new Verdict(SlotPhase.Failed, "CowStoreFull", broken.reason() + ": the COW store is full; the client's"
            + " disk stays readable with every write made before, but every further write fails");
      }
      return new Verdict(SlotPhase.Failed, "CowStoreBroken", broken.reason() + ": the COW store no longer serves data");
    }
    if (plan.writesFailing().isPresent() && done.store().isPresent()) {
      Blocked full = plan.writesFailing().get();
      return new Verdict(SlotPhase.Failed, full.reason(), full.message());
    }
    Optional<ExporterState> ex = done.exporter();
    if (ex.isEmpty() || done.store().isEmpty()) {
      return new Verdict(SlotPhase.Provisioning, "Provisioning", "building the COW store");
    }
    ExporterState e = ex.get();
    if (e.conflict() != null) {
      return new Verdict(SlotPhase.Failed, EXPORTER_CONFLICT, conflictMessage(e.target().aoeName(), e.conflict()));
    }
    if (e.duplicate() != null) {
      return new Verdict(SlotPhase.Failed, DUPLICATE_EXPORTER, e.duplicate().message());
    }
    if (e.running()) {
      return new Verdict(SlotPhase.Serving, "Serving", "serving " + e.target() + " (exporter pid " + e.pid() + ")");
    }
    String exit = "exporter exited" + (e.lastExitCode() == null ? "" : " with code " + e.lastExitCode())
        + (e.lastError() == null ? "" : ": " + e.lastError());
    String next = e.nextRestartAt() == null ? "" : "; next restart at " + e.nextRestartAt();
    if (e.consecutiveFailures() >= FAILING_AFTER_EXITS) {
      return new Verdict(SlotPhase.Failed, "ExporterFailing", exit + " (" + e.consecutiveFailures() + " times in a row)" + next);
    }
    return new Verdict(SlotPhase.Provisioning, "ExporterRestarting", exit + next);
  }

  private static SlotPlan blocked(String reason, String why) {
    return blocked(List.of(), reason, why);
  }

  private static SlotPlan blocked(List<Step> steps, String reason, String why) {
    return new SlotPlan(steps, Optional.of(new Blocked(reason, why)));
  }

  private static String conflictMessage(String target, VbladeProcess other) {
    return "target " + target + " on " + other.target().iface() + " is already exported by vblade pid " + other.pid()
        + " serving " + other.target().path() + (other.options().isEmpty() ? "" : " with options " + other.options())
        + ", not by this slot; not starting a second exporter";
  }
}
