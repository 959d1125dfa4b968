package io.cowherd.operator.node;

import io.cowherd.api.SlotConditions;
import io.cowherd.api.SlotReclaim;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.operator.error.SlotWriteException;
import io.cowherd.operator.liveness.LivenessConditionWriter;
import io.cowherd.operator.status.Conditions;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the one slot status field the operator owns: the condition {@link
 * SlotConditions#NODE_AVAILABLE} in {@code status.conditions} (the node agent writes every other
 * status field and never this one), through {@link LivenessConditionWriter}, the operator's one
 * writer of {@code status.conditions} (server-side apply; the other condition, AgentAlive, is kept).
 * It is written only when type, status or reason change, so a steady state makes no writes.
 */
public final class NodeLivenessWriter {
  private static final Logger log = LoggerFactory.getLogger(NodeLivenessWriter.class);

  private final LivenessConditionWriter conditions;
  private final Clock clock;

  /**
   * @param client client for the status patch
   * @param clock time source for {@code lastTransitionTime}
   */
  public NodeLivenessWriter(KubernetesClient client, Clock clock) {
    this.conditions = new LivenessConditionWriter(client, clock);
    this.clock = clock;
  }

  /**
   * Sets NodeAvailable=False, reason {@link SlotConditions#NODE_LOST}, on {@code slot}.
   *
   * @return true when the condition was written now (it was not already set)
   * @throws SlotWriteException when the patch fails
   */
  public boolean reportLost(AoeBootSlot slot) {
    return write(slot, false, SlotConditions.NODE_LOST, "Node " + slot.getSpec().getNodeName()
        + " is gone: the slot's COW store and exporter are on that node; the target stays reserved. When the Node"
        + " comes back the slot serves again with its data; to give the data up and recreate the slot on another"
        + " node with an empty disk: kubectl annotate aoebootslot " + slot.getMetadata().getName() + " "
        + SlotReclaim.ABANDON_ANNOTATION + "=" + SlotReclaim.ABANDON_VALUE);
  }

  /**
   * Sets NodeAvailable=True, reason {@link SlotConditions#NODE_FOUND}, on {@code slot}.
   *
   * @return true when the condition was written now
   * @throws SlotWriteException when the patch fails
   */
  public boolean reportFound(AoeBootSlot slot) {
    return write(slot, true, SlotConditions.NODE_FOUND, "Node " + slot.getSpec().getNodeName() + " exists");
  }

  private boolean write(AoeBootSlot slot, boolean available, String reason, String message) {
    List<Condition> before = slot.getStatus() == null || slot.getStatus().getConditions() == null
        ? List.of() : slot.getStatus().getConditions();
    Optional<Condition> current = Conditions.find(before, SlotConditions.NODE_AVAILABLE);
    String status = available ? "True" : "False";
    if (current.isPresent() && status.equals(current.get().getStatus()) && reason.equals(current.get().getReason())) {
      return false;
    }
    long generation = Objects.requireNonNullElse(slot.getMetadata().getGeneration(), 0L);
    Condition condition = Conditions.of(SlotConditions.NODE_AVAILABLE, available, reason, message, generation, clock.instant());
    if (!conditions.put(slot, condition)) {
      return false;
    }
    String namespace = slot.getMetadata().getNamespace();
    String name = slot.getMetadata().getName();
    log.info("slot {}/{}: {}={} ({})", namespace, name, SlotConditions.NODE_AVAILABLE, status, reason);
    return true;
  }
}
