package io.cowherd.operator.pool;

import io.cowherd.api.SlotOrigins;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootPoolStatus;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPlacement;
import io.cowherd.operator.clients.ClientAssigner;
import io.cowherd.operator.clients.ClientAssignment;
import io.cowherd.operator.conflict.ConflictReport;
import io.cowherd.operator.conflict.ConflictResolver;
import io.cowherd.operator.conflict.HeldTarget;
import io.cowherd.operator.conflict.PoolClaim;
import io.cowherd.operator.error.InvalidPoolException;
import io.cowherd.operator.error.ReconcileException;
import io.cowherd.operator.liveness.AgentHeartbeats;
import io.cowherd.operator.metrics.CowherdMetrics;
import io.cowherd.operator.placement.LiveAgents;
import io.cowherd.operator.placement.NodeEligibility;
import io.cowherd.operator.placement.NodePicker;
import io.cowherd.operator.status.Conditions;
import io.cowherd.operator.status.PoolConditions;
import io.cowherd.operator.status.PoolStatusAggregator;
import io.cowherd.operator.status.SlotProgress;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.MaxReconciliationInterval;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Reconciles an {@code AoeBootPool} into its {@code AoeBootSlot}s: observe (caches) → assign clients
 * to slots ({@link ClientAssigner}) → decide (pure conflict check, placement and slot-set plan, slot
 * MACs from the assignment) → act ({@link SlotSetExecutor}) → report (pure
 * status aggregation, patched only when it changed).
 *
 * <p>The pool carries the finalizer {@link #FINALIZER}: on deletion every slot is deleted and the
 * finalizer is removed only once no slot object is left (clusters without a garbage collector, or
 * with slots still held by their node agent's finalizer, stay consistent).
 */
@ControllerConfiguration(
    name = PoolReconciler.NAME,
    finalizerName = PoolReconciler.FINALIZER,
    fieldManager = SlotSetExecutor.FIELD_MANAGER,
    maxReconciliationInterval = @MaxReconciliationInterval(interval = 5, timeUnit = TimeUnit.MINUTES))
public final class PoolReconciler implements Reconciler<AoeBootPool>, Cleaner<AoeBootPool> {
  /** Controller name. */
  public static final String NAME = "aoebootpool";
  /** Finalizer the operator keeps on each pool until all its slot objects are gone. */
  public static final String FINALIZER = "cowherd.io/pool-cleanup";
  /** How long a deleted pool waits before checking again whether its slots are gone. */
  public static final Duration CLEANUP_RECHECK = Duration.ofSeconds(5);
  /** When clients wait for the enrollment rate limit, the next look at the pool. */
  public static final Duration RATE_LIMIT_RECHECK = Duration.ofSeconds(10);
  /** Longest condition message written from an exception, in characters. */
  private static final int MAX_ERROR_MESSAGE_CHARS = 1024;

  private final NodePicker nodePicker;
  private final PoolObserver observer;
  private final SlotSetExecutor executor;
  private final PoolEventRecorder events;
  private final CowherdMetrics metrics;
  private final Clock clock;
  private final SilentAgentDeletionReporter silentAgents;
  private final AgentHeartbeats heartbeats;
  private final PlacementMemory placementMemory = new PlacementMemory();
  private final ClientAssigner assigner;

  /**
   * @param nodePicker placement
   * @param observer reads the caches (with the agents' Leases when it knows their namespace)
   * @param executor writes slot objects
   * @param events records Events on the pool
   * @param metrics pool and slot gauges, reconcile error counter
   * @param clock time source for condition transition times
   * @param silentAgents says when a deletion waits for silent node agents
   * @param heartbeats judges the agents' Leases: new slots go only to nodes with a live agent
   * @param assigner assigns the pool's clients to slots
   */
  public PoolReconciler(NodePicker nodePicker, PoolObserver observer, SlotSetExecutor executor,
      PoolEventRecorder events, CowherdMetrics metrics, Clock clock, SilentAgentDeletionReporter silentAgents,
      AgentHeartbeats heartbeats, ClientAssigner assigner) {
    this.assigner = assigner;
    this.nodePicker = nodePicker;
    this.observer = observer;
    this.executor = executor;
    this.events = events;
    this.metrics = metrics;
    this.clock = clock;
    this.silentAgents = silentAgents;
    this.heartbeats = heartbeats;
  }

  /**
   * Observes slots, pools, Nodes and agent Leases, plans the slot set, writes it and reports status.
   *
   * @throws InvalidPoolException when the pool has no spec
   * @throws io.cowherd.operator.error.SlotWriteException when a slot write fails (retried)
   * @throws io.cowherd.operator.error.ClusterReadException when a direct read fails (retried)
   */
  @Override
  public UpdateControl<AoeBootPool> reconcile(AoeBootPool pool, Context<AoeBootPool> context) {
    if (pool.getSpec() == null) {
      throw new InvalidPoolException("spec is missing");
    }
    PoolObservation seen = observer.observe(pool, context);

    LiveAgents agents = seen.agentLeases()
        .map(leases -> heartbeats.liveAgents(seen.nodeNames(), observer.agentLeaseNamespace().orElseThrow(), leases,
            clock.instant()))
        .orElse(LiveAgents.unobserved());
    NodeEligibility nodes = nodePicker.eligibility(seen.nodes(), agents);
    ConflictReport conflicts = ConflictResolver.resolve(PoolClaim.of(pool),
        seen.allPools().stream().map(PoolClaim::of).toList(),
        seen.allSlots().stream().map(HeldTarget::of).toList());
    List<SlotPlacement> startFrom = placementMemory.current(pool); // our last write, if the cache lags behind it
    Map<Integer, String> placements = Placements.recorded(startFrom);
    Map<Integer, String> abandoned = Placements.abandoned(startFrom);
    ClientAssignment.Outcome clientsNow = assigner.assign(pool, seen.clients());
    OriginRollout.Clients slotClients = OriginRollout.clients(seen.clients(), clock.instant());
    SlotSetPlan plan = SlotSetPlan.decide(pool, seen.ownSlots(), seen.nodeNames(), nodes.eligible(),
        seen.slotsPerNode(), conflicts.blocked().keySet(), placements, abandoned,
        ClientAssigner.allowedMacs(pool, clientsNow), slotClients);
    Map<Integer, SlotPlacement> recordedOrigins = Placements.byNumber(startFrom);
    OriginRollout.restore(plan.creates(), recordedOrigins);
    reportMoves(pool, seen.ownSlots(), slotClients);

    SlotSetOutcome done = executor.apply(pool, plan);

    SlotProgress progress = new SlotProgress(done.created(), done.updated(), done.deleted(), done.released(),
        plan.terminating().size(), plan.unplaced(), plan.unplaced().isEmpty() ? "" : nodes.describe());
    AoeBootPoolStatus status = PoolStatusAggregator.aggregate(pool, seen.ownSlots(), seen.readyNodeNames(),
        progress, conflicts.message(), clock.instant());
    status.setPlacements(Placements.next(pool, placements, abandoned, recordedOrigins, seen.ownSlots(), plan));
    recordWarnings(pool, status);
    Optional<Duration> idleCheck = OriginRollout.nextIdleCheck(pool, seen.ownSlots(), slotClients);
    if (PoolStatusAggregator.same(pool.getStatus(), status)) {
      return recheck(UpdateControl.noUpdate(), clientsNow, idleCheck);
    }
    placementMemory.written(pool, status.getPlacements());
    return recheck(UpdateControl.patchStatus(statusPatch(pool, status)), clientsNow, idleCheck);
  }

  /**
   * Clients waiting only for the enrollment rate get another look after {@link
   * #RATE_LIMIT_RECHECK}; a stale slot's client counting towards {@code spec.idleUpdate.silentFor}
   * gets one when it gets there (whichever is first).
   */
  private static UpdateControl<AoeBootPool> recheck(UpdateControl<AoeBootPool> control,
      ClientAssignment.Outcome clients, Optional<Duration> idleCheck) {
    Optional<Duration> rate = clients.rateLimited() ? Optional.of(RATE_LIMIT_RECHECK) : Optional.empty();
    Optional<Duration> next = java.util.stream.Stream.of(rate, idleCheck).flatMap(Optional::stream)
        .min(Duration::compareTo);
    return next.isPresent() ? control.rescheduleAfter(next.get()) : control;
  }

  /**
   * Clears the slot assignment of the pool's clients ({@link ClientAssigner#release}), marks every
   * slot of the pool with the pool's reclaim policy and deletes it (releasing those
   * whose Node is gone) and keeps the pool's finalizer until a direct list shows no slot object
   * left; while it waits on slots whose node agents are silent, says so ({@link
   * SilentAgentDeletionReporter}).
   */
  @Override
  public DeleteControl cleanup(AoeBootPool pool, Context<AoeBootPool> context) {
    assigner.release(pool);
    PoolObservation seen = observer.observe(pool, context);
    SlotSetPlan plan = SlotSetPlan.teardown(pool, seen.ownSlots(), seen.nodeNames());
    executor.apply(pool, plan);
    if (executor.liveSlotCount(pool) == 0) {
      placementMemory.forget(pool);
      return DeleteControl.defaultDelete();
    }
    silentAgents.report(pool, seen.ownSlots());
    return DeleteControl.noFinalizerRemoval().rescheduleAfter(CLEANUP_RECHECK);
  }

  /**
   * The one place exceptions become status: Ready=False and Degraded=True with the exception's
   * reason ({@link ReconcileException#reason()}, else {@link PoolConditions#RECONCILE_ERROR}) and
   * message. JOSDK keeps retrying.
   */
  @Override
  public ErrorStatusUpdateControl<AoeBootPool> updateErrorStatus(
      AoeBootPool pool, Context<AoeBootPool> context, Exception e) {
    String reason = e instanceof ReconcileException known ? known.reason() : PoolConditions.RECONCILE_ERROR;
    metrics.reconcileError(NAME, reason);
    String message = Objects.requireNonNullElse(e.getMessage(), e.getClass().getSimpleName());
    if (message.length() > MAX_ERROR_MESSAGE_CHARS) {
      message = message.substring(0, MAX_ERROR_MESSAGE_CHARS);
    }
    AoeBootPoolStatus status = PoolStatusAggregator.withError(pool, reason, message, clock.instant());
    return PoolStatusAggregator.same(pool.getStatus(), status)
        ? ErrorStatusUpdateControl.noStatusUpdate()
        : ErrorStatusUpdateControl.patchStatus(statusPatch(pool, status));
  }

  @Override
  public List<EventSource<?, AoeBootPool>> prepareEventSources(EventSourceContext<AoeBootPool> context) {
    List<EventSource<?, AoeBootPool>> sources = PoolEventSources.create(context, observer.agentLeaseNamespace(),
        heartbeats, clock);
    PoolEventSources.observe(sources, metrics);
    return sources;
  }

  /** Reason of the Warning Event on a slot whose reset is refused (client seen doing I/O). */
  public static final String RESET_REFUSED = "ResetRefused";
  /** Reason of the Warning Event on a slot whose capture waits (client seen doing I/O) or is ill-formed. */
  public static final String CAPTURE_REFUSED = "CaptureRefused";

  /** Invalid reset values already reported, as {@code <slot uid>/<value>} (once per operator process). */
  private final java.util.Set<String> reportedResets = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * A Warning Event for each slot whose reset annotation cannot form a rebuild token ({@code
   * InvalidReset}) or whose reset is refused because its client is seen doing I/O ({@code
   * ResetRefused}, once per value); nothing is moved for either.
   */
  private void reportMoves(AoeBootPool pool, List<AoeBootSlot> slots, OriginRollout.Clients clients) {
    for (AoeBootSlot slot : slots) {
      if (slot.getSpec() != null && slot.getSpec().getSlot() != null) {
        OriginRollout.refusal(slot, clients.of(slot.getSpec().getSlot()), clients.now())
            .filter(r -> !SlotOrigins.resetRefused(slot).equals(Optional.of(r.value())))
            .filter(r -> reportedResets.add(slot.getMetadata().getUid() + "/refused/" + r.value()))
            .ifPresent(r -> events.warning(slot, RESET_REFUSED, r.message()));
        SlotCaptures.refusal(slot, clients.of(slot.getSpec().getSlot()), clients.now())
            .filter(m -> reportedResets.add(slot.getMetadata().getUid() + "/capture/"
                + SlotOrigins.captureRequested(slot).orElse("")))
            .ifPresent(m -> events.warning(slot, CAPTURE_REFUSED, m));
      }
      OriginRollout.invalidReset(slot).filter(v -> reportedResets.add(slot.getMetadata().getUid() + "/" + v))
          .ifPresent(value -> events.warning(slot, "InvalidReset", "slot "
          + slot.getMetadata().getName() + ": reset value '" + value + "' ignored; use 1 to 57 characters of"
          + " [A-Za-z0-9._:+-] starting with a letter or digit, e.g. $(date -u +%Y%m%dT%H%M%SZ)"));
    }
  }

  /** Warning Events when Conflict turns True or NoEligibleNode appears (or their message changes). */
  private void recordWarnings(AoeBootPool pool, AoeBootPoolStatus status) {
    List<Condition> before = pool.getStatus() == null ? List.of() : pool.getStatus().getConditions();
    Optional<Condition> conflict = Conditions.find(status.getConditions(), PoolConditions.CONFLICT)
        .filter(c -> "True".equals(c.getStatus()));
    if (conflict.isPresent() && changed(before, conflict.get())) {
      events.warning(pool, PoolConditions.TARGET_CONFLICT, conflict.get().getMessage());
    }
    Optional<Condition> noNode = Conditions.find(status.getConditions(), PoolConditions.PROGRESSING)
        .filter(c -> PoolConditions.NO_ELIGIBLE_NODE.equals(c.getReason()));
    if (noNode.isPresent() && changed(before, noNode.get())) {
      events.warning(pool, PoolConditions.NO_ELIGIBLE_NODE, noNode.get().getMessage());
    }
  }

  private static boolean changed(List<Condition> before, Condition now) {
    return Conditions.find(before, now.getType())
        .map(c -> !Objects.equals(c.getStatus(), now.getStatus()) || !Objects.equals(c.getReason(), now.getReason())
            || !Objects.equals(c.getMessage(), now.getMessage()))
        .orElse(true);
  }

  /** A fresh pool holding only name, namespace and status: the intent for a server-side apply of the status. */
  private static AoeBootPool statusPatch(AoeBootPool pool, AoeBootPoolStatus status) {
    AoeBootPool patch = new AoeBootPool();
    patch.setMetadata(new ObjectMetaBuilder()
        .withName(pool.getMetadata().getName())
        .withNamespace(pool.getMetadata().getNamespace())
        .build());
    patch.setStatus(status);
    return patch;
  }
}
