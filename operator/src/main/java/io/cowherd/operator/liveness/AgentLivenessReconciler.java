package io.cowherd.operator.liveness;

import io.cowherd.api.LeanItemStore;
import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.retry.GenericRetry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Makes a silent node agent visible on its slots: for every slot, looks up the heartbeat Lease of
 * the agent on {@code spec.nodeName} (an informer on the Leases labelled {@link
 * Names#agentLeaseLabels} in the agent namespace), and while it is expired or missing sets {@link
 * LivenessConditionWriter#TYPE}=Unknown with reason {@link LivenessConditionWriter#AGENT_SILENT}
 * (only after a fresh read of the Lease from the API server confirms the informer's copy: {@link
 * AgentHeartbeats#judgeConfirmed});
 * removes the condition once the agent renews again. A fresh Lease schedules the next look at its
 * expiry, since an expiry makes no event. Conditions with another reason (a Node that is gone) are
 * left to their writer.
 *
 * <p>Each renewal of a Lease wakes the reconciliation of that node's slots (cache reads only); API
 * writes happen only when a slot's condition changes.
 */
@ControllerConfiguration(name = AgentLivenessReconciler.NAME)
public final class AgentLivenessReconciler implements Reconciler<AoeBootSlot> {
  /** Controller name. */
  public static final String NAME = "agent-liveness";
  /** Name of the Lease informer. */
  static final String LEASES = "agent-leases";
  /** Margin past a Lease's expiry before it is judged again, so the judgment falls after it. */
  private static final Duration AFTER_EXPIRY = Duration.ofMillis(250);
  /** First wait before a failed reconciliation (a condition write the API server refused) runs again, in ms. */
  static final long RETRY_INITIAL_MILLIS = 1_000;
  /** Longest wait between two retries of a failed reconciliation, in ms. */
  static final long RETRY_MAX_MILLIS = 30_000;

  private final String leaseNamespace;
  private final AgentHeartbeats heartbeats;
  private final LivenessConditionWriter writer;
  private final AgentHeartbeats.LeaseReader freshLeases;
  private final Clock clock;

  /**
   * @param leaseNamespace namespace of the agents' heartbeat Leases (the agents' own)
   * @param heartbeats Lease expiry bookkeeping
   * @param writer the one writer of the liveness condition
   * @param freshLeases reads a Lease from the API server before an agent is reported silent
   * @param clock the operator's clock
   */
  public AgentLivenessReconciler(String leaseNamespace, AgentHeartbeats heartbeats, LivenessConditionWriter writer,
      AgentHeartbeats.LeaseReader freshLeases, Clock clock) {
    this.leaseNamespace = leaseNamespace;
    this.heartbeats = heartbeats;
    this.writer = writer;
    this.freshLeases = freshLeases;
    this.clock = clock;
  }

  /**
   * How this controller retries a reconciliation that threw (a {@link
   * io.cowherd.operator.error.SlotWriteException} from the condition writer): 1 s, 1 s, then
   * doubling up to 30 s ({@code GenericRetryExecution}), without a limit on attempts. JOSDK's default
   * gives up after 5 attempts (2 to 6.75 s apart), and a dead agent makes no further event: its
   * slots would then stay unmarked until the next periodic reconciliation, and a failed clear would
   * lose the timer of the next expiry.
   */
  public static GenericRetry retry() {
    return new GenericRetry().setInitialInterval(RETRY_INITIAL_MILLIS).setIntervalMultiplier(2)
        .setMaxInterval(RETRY_MAX_MILLIS).withoutMaxAttempts();
  }

  @Override
  public UpdateControl<AoeBootSlot> reconcile(AoeBootSlot slot, Context<AoeBootSlot> context) {
    String node = slot.getSpec() == null ? null : slot.getSpec().getNodeName();
    if (node == null) {
      return UpdateControl.noUpdate();
    }
    Optional<Condition> current = LivenessConditionWriter.current(slot);
    if (current.isPresent() && !LivenessConditionWriter.AGENT_SILENT.equals(current.get().getReason())) {
      return UpdateControl.noUpdate(); // e.g. NodeGone: its writer decides when it ends
    }
    AgentHeartbeats.Verdict verdict =
        heartbeats.judgeConfirmed(node, leaseNamespace, context.getSecondaryResource(Lease.class), freshLeases,
            clock.instant());
    if (!verdict.alive()) {
      writer.markUnknown(slot, LivenessConditionWriter.AGENT_SILENT, verdict.message());
      return UpdateControl.noUpdate(); // the next renewal (a Lease event) brings the slot back here
    }
    writer.clear(slot, LivenessConditionWriter.AGENT_SILENT);
    UpdateControl<AoeBootSlot> control = UpdateControl.noUpdate();
    return verdict.recheckAfter().map(d -> control.rescheduleAfter(d.plus(AFTER_EXPIRY))).orElse(control);
  }

  @Override
  public List<EventSource<?, AoeBootSlot>> prepareEventSources(EventSourceContext<AoeBootSlot> context) {
    var slots = context.getPrimaryCache();
    var leases = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Lease.class, AoeBootSlot.class)
            .withName(LEASES)
            .withNamespaces(Set.of(leaseNamespace))
            .withLabelSelector(Names.COMPONENT_LABEL + "=" + Names.AGENT_LEASE_COMPONENT)
            .withSecondaryToPrimaryMapper(lease -> {
              String node = lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
              return slots.list(s -> s.getSpec() != null && node != null && node.equals(s.getSpec().getNodeName()))
                  .map(ResourceID::fromResource)
                  .collect(Collectors.toSet());
            })
            .withPrimaryToSecondaryMapper((AoeBootSlot slot) -> leaseOf(slot))
            .withItemStore(LeanItemStore.create())
            .build(),
        context);
    return List.of(leases);
  }

  private Set<ResourceID> leaseOf(AoeBootSlot slot) {
    return slot.getSpec() == null || slot.getSpec().getNodeName() == null
        ? Set.of()
        : Set.of(new ResourceID(Names.agentLeaseName(slot.getSpec().getNodeName()), leaseNamespace));
  }
}
