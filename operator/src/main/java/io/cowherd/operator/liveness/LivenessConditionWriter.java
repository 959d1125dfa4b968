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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one writer of the operator's liveness condition on a slot ({@link #TYPE} in {@code
 * status.conditions}): the only slot status the operator writes (design.md: the agent writes the
 * rest). Server-side apply of {@code status.conditions} alone on the status subresource, with its
 * own field manager {@link #FIELD_MANAGER}, so the node agent's status writes (field manager of its
 * controller, never including {@code conditions}) and this writer never wipe each other's fields.
 *
 * <p>It is the operator's only writer of {@code status.conditions}: {@link #TYPE} for silent agents
 * ({@link #AGENT_SILENT}, by {@link AgentLivenessReconciler}) and, through {@link #put}/{@link
 * #remove}, {@code NodeAvailable} for slots whose Node is gone ({@code
 * io.cowherd.operator.node.NodeLivenessWriter}); each write keeps the other type. Writes only when
 * the conditions would change, so a steady state makes no API writes.
 */
public final class LivenessConditionWriter {
  /** Field manager of the liveness condition; nothing else is written with it. */
  public static final String FIELD_MANAGER = "cowherd-operator-liveness";
  /** Condition type: Unknown while the slot's node agent is not heard from; absent otherwise. */
  public static final String TYPE = "AgentAlive";
  /** Reason: the node agent's heartbeat Lease expired or is missing. */
  public static final String AGENT_SILENT = "AgentSilent";
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
    return put(slot, condition);
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
    return remove(slot, TYPE);
  }

  /**
   * Sets {@code condition} on {@code slot}, replacing the condition of its type and keeping every
   * other type (the operator's other liveness condition, {@link io.cowherd.api.SlotConditions}).
   *
   * @return whether a write was made
   * @throws SlotWriteException when the API server refuses the write (a deleted slot is no error)
   */
  public boolean put(AoeBootSlot slot, Condition condition) {
    return change(slot, list -> {
      List<Condition> next = new ArrayList<>(list.stream().filter(c -> !condition.getType().equals(c.getType())).toList());
      next.add(condition);
      return next;
    });
  }

  /**
   * Removes the condition of {@code type} from {@code slot}, keeping every other type.
   *
   * @return whether a write was made
   * @throws SlotWriteException when the API server refuses the write (a deleted slot is no error)
   */
  public boolean remove(AoeBootSlot slot, String type) {
    return change(slot, list -> list.stream().filter(c -> !type.equals(c.getType())).toList());
  }

  /**
   * Applies {@code change} to the slot's operator conditions as this field manager's whole intent
   * for the slot's status. The list is atomic for server-side apply, so the intent always carries
   * every operator condition; the slot's {@code resourceVersion} is a precondition, and on a
   * conflict (a newer slot than the caller saw) the slot is read again and the change re-applied,
   * at most 3 times, so a concurrent write of the other condition type is never lost.
   */
  private boolean change(AoeBootSlot seen, UnaryOperator<List<Condition>> change) {
    String namespace = seen.getMetadata().getNamespace();
    String name = seen.getMetadata().getName();
    AoeBootSlot slot = seen;
    for (int attempt = 0; ; attempt++) {
      List<Condition> before = slot.getStatus() == null || slot.getStatus().getConditions() == null
          ? List.of() : slot.getStatus().getConditions();
      List<Condition> after = change.apply(before);
      if (after.equals(before)) {
        return false;
      }
      Map<String, Object> metadata = new LinkedHashMap<>();
      metadata.put("name", name);
      metadata.put("namespace", namespace);
      metadata.put("uid", slot.getMetadata().getUid());
      if (slot.getMetadata().getResourceVersion() != null) {
        metadata.put("resourceVersion", slot.getMetadata().getResourceVersion());
      }
      Map<String, Object> intent = new LinkedHashMap<>();
      intent.put("apiVersion", HasMetadata.getApiVersion(AoeBootSlot.class));
      intent.put("kind", HasMetadata.getKind(AoeBootSlot.class));
      intent.put("metadata", metadata);
      intent.put("status", after.isEmpty() ? Map.of() : Map.of("conditions", after));
      try {
        client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name).subresource("status")
            .patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY).withFieldManager(FIELD_MANAGER)
                .withForce(true).build(), client.getKubernetesSerialization().asJson(intent));
        return true;
      } catch (KubernetesClientException e) {
        if (e.getCode() == 404) {
          return false; // gone: nothing to say
        }
        if (e.getCode() != 409) {
          throw new SlotWriteException(namespace, name, "write operator conditions on", e);
        }
        AoeBootSlot fresh = client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name).get();
        if (fresh == null || !Objects.equals(fresh.getMetadata().getUid(), seen.getMetadata().getUid())) {
          return false; // gone, or replaced by another object of that name: nothing to say
        }
        if (attempt >= 2) {
          throw new SlotWriteException(namespace, name, "write operator conditions (3 conflicts) on", e);
        }
        slot = fresh;
      }
    }
  }
}
