package io.cowherd.operator.support;

import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Instant;

/**
 * Does through the Kubernetes API exactly what the node agent does, and nothing on the host: a
 * java-operator-sdk controller for the slots labelled with its node, with the agent's finalizer
 * (added by server-side apply, removed by patch), status patched by server-side apply ({@code
 * Serving}, then {@code Terminating}) and an Event per slot served. Run with the agent's
 * ServiceAccount identity it shows that the agent's RBAC suffices.
 */
@ControllerConfiguration(name = "fake-node-agent", finalizerName = Names.SLOT_FINALIZER)
public final class FakeAgent implements Reconciler<AoeBootSlot>, Cleaner<AoeBootSlot> {
  private final String nodeName;
  private final KubernetesClient client;

  private FakeAgent(String nodeName, KubernetesClient client) {
    this.nodeName = nodeName;
    this.client = client;
  }

  /** Starts the fake agent for {@code nodeName} with {@code client}'s identity. */
  public static Operator start(String nodeName, KubernetesClient client) {
    Operator operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    operator.register(new FakeAgent(nodeName, client), o -> o.withLabelSelector(Names.NODE_LABEL + "=" + nodeName));
    operator.start();
    return operator;
  }

  @Override
  public UpdateControl<AoeBootSlot> reconcile(AoeBootSlot slot, Context<AoeBootSlot> context) {
    if (slot.getStatus() != null && slot.getStatus().getPhase() == SlotPhase.Serving) {
      return UpdateControl.noUpdate();
    }
    event(slot, "SlotServing", "serving " + target(slot) + " (fake agent)");
    return UpdateControl.patchStatus(statusPatch(slot, SlotPhase.Serving));
  }

  /** Shows Terminating first and removes the finalizer on the next call, as the agent does. */
  @Override
  public DeleteControl cleanup(AoeBootSlot slot, Context<AoeBootSlot> context) {
    if (slot.getStatus() == null || slot.getStatus().getPhase() != SlotPhase.Terminating) {
      client.resource(statusPatch(slot, SlotPhase.Terminating)).patchStatus();
      return DeleteControl.noFinalizerRemoval().rescheduleAfter(200);
    }
    return DeleteControl.defaultDelete();
  }

  private AoeBootSlot statusPatch(AoeBootSlot slot, SlotPhase phase) {
    AoeBootSlotStatus status = new AoeBootSlotStatus();
    status.setPhase(phase);
    status.setTarget(target(slot));
    status.setObservedGeneration(slot.getMetadata().getGeneration());
    status.setCowUsedSectors(0L);
    status.setCowTotalSectors(2048L);
    status.setRestarts(0);
    AoeBootSlot patch = new AoeBootSlot();
    patch.setMetadata(new ObjectMetaBuilder().withName(slot.getMetadata().getName())
        .withNamespace(slot.getMetadata().getNamespace()).build());
    patch.setStatus(status);
    return patch;
  }

  private void event(AoeBootSlot slot, String reason, String message) {
    String now = Instant.now().toString();
    client.v1().events().inNamespace(slot.getMetadata().getNamespace()).resource(new EventBuilder()
        .withNewMetadata().withGenerateName(slot.getMetadata().getName() + ".").endMetadata()
        .withNewInvolvedObject().withApiVersion(slot.getApiVersion()).withKind(slot.getKind())
        .withName(slot.getMetadata().getName()).withNamespace(slot.getMetadata().getNamespace())
        .withUid(slot.getMetadata().getUid()).endInvolvedObject()
        .withType("Normal").withReason(reason).withMessage(message)
        .withNewSource("cowherd-node-agent", nodeName)
        .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
        .build()).create();
  }

  private static String target(AoeBootSlot slot) {
    return Names.target(slot.getSpec().getShelf(), slot.getSpec().getSlot());
  }
}
