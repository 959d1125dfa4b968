package io.cowherd.operator.liveness;

import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.operator.error.SlotWriteException;
import io.cowherd.operator.status.Conditions;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one writer of the operator's liveness condition on a slot ({@link #TYPE} in {@code
 * status.conditions}): the only slot status the operator writes (design.md: the agent writes the
 * rest). Server-side apply of {@code status.conditions} alone on the status subresource, with its
 * own field manager {@link #FIELD_MANAGER}, so the node agent's status writes (field manager of its
 * controller, never including {@code conditions}) and this writer never wipe each other's fields.
 *
 * <p>Used for silent agents ({@link #AGENT_SILENT}, by {@link AgentLivenessReconciler}) and meant
 * for slots whose Node is gone ({@link #NODE_GONE}). Writes only when the condition would change,
 * so a steady state makes no API writes.
 */
public final class LivenessConditionWriter {
  /** Field manager of the liveness condition; nothing else is written with it. */
  public static final String FIELD_MANAGER = "cowherd-operator-liveness";
  /** Condition type: Unknown while the slot's node agent is not heard from; absent otherwise. */
  public static final String TYPE = "AgentAlive";
  /** Reason: the node agent's heartbeat Lease expired or is missing. */
  public static final String AGENT_SILENT = "AgentSilent";
  /** Reason: the slot's Node object is gone. */
  public static final String NODE_GONE = "NodeGone";
  private static final Logger LOG = LoggerFactory.getLogger(LivenessConditionWriter.class);

  private final KubernetesClient client;
  private final Clock clock;

  /**
   * @param client client allowed to patch {@code aoebootslots/status}
   * @param clock time source of {@code lastTransitionTime}
   */
  public LivenessConditionWriter(KubernetesClient client, Clock clock) {
    this.client = client;
    this.clock = clock;
  }

  /** The liveness condition of {@code slot}, if the operator has set one. */
  public static Optional<Condition> current(AoeBootSlot slot) {
    return Conditions.find(slot.getStatus() == null ? null : slot.getStatus().getConditions(), TYPE);
  }

  /**
   * Sets {@link #TYPE}=Unknown with {@code reason} and {@code message} on {@code slot}, unless it
   * already says exactly that.
   *
   * @return whether a write was made
   * @throws SlotWriteException when the API server refuses the write (a deleted slot is no error)
   */
  public boolean markUnknown(AoeBootSlot slot, String reason, String message) {
    Optional<Condition> now = current(slot);
    if (now.isPresent() && "Unknown".equals(now.get().getStatus()) && Objects.equals(reason, now.get().getReason())
        && Objects.equals(message, now.get().getMessage())) {
      return false;
    }
    String since = now.filter(c -> "Unknown".equals(c.getStatus())).map(Condition::getLastTransitionTime)
        .orElse(Conditions.timestamp(clock.instant()));
    Condition condition = new ConditionBuilder()
        .withType(TYPE)
        .withStatus("Unknown")
        .withReason(reason)
        .withMessage(message)
        .withObservedGeneration(slot.getMetadata().getGeneration())
        .withLastTransitionTime(since)
        .build();
    LOG.info("slot {}/{}: {}=Unknown ({}): {}", slot.getMetadata().getNamespace(), slot.getMetadata().getName(), TYPE,
        reason, message);
    return apply(slot, Map.of("conditions", List.of(condition)));
  }

  /**
   * Removes the liveness condition from {@code slot} if it has one with {@code reason}.
   *
   * @return whether a write was made
   * @throws SlotWriteException when the API server refuses the write (a deleted slot is no error)
   */
  public boolean clear(AoeBootSlot slot, String reason) {
    if (current(slot).filter(c -> reason.equals(c.getReason())).isEmpty()) {
      return false;
    }
    LOG.info("slot {}/{}: {} cleared (was {})", slot.getMetadata().getNamespace(), slot.getMetadata().getName(), TYPE,
        reason);
    return apply(slot, Map.of());
  }

  /** Applies {@code status} as this field manager's whole intent for the slot's status. */
  private boolean apply(AoeBootSlot slot, Map<String, Object> status) {
    String namespace = slot.getMetadata().getNamespace();
    String name = slot.getMetadata().getName();
    Map<String, Object> intent = new LinkedHashMap<>();
    intent.put("apiVersion", HasMetadata.getApiVersion(AoeBootSlot.class));
    intent.put("kind", HasMetadata.getKind(AoeBootSlot.class));
    intent.put("metadata", Map.of("name", name, "namespace", namespace, "uid", slot.getMetadata().getUid()));
    intent.put("status", status);
    try {
      client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name).subresource("status")
          .patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY).withFieldManager(FIELD_MANAGER)
              .withForce(true).build(), client.getKubernetesSerialization().asJson(intent));
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404 || e.getCode() == 409) {
        return false; // gone, or replaced by another object of that name (uid mismatch): nothing to say
      }
      throw new SlotWriteException(namespace, name, "write condition " + TYPE + " on", e);
    }
  }
}
