package io.cowherd.operator.support;

import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes the test plays for the parts that are absent from an API-server-only cluster: Node objects
 * (kubelet) and slot status and finalizer (node agent). Merge patches without resourceVersion,
 * since the operator writes the same objects concurrently.
 */
public final class Cluster {
  private final KubernetesClient client;

  public Cluster(KubernetesClient client) {
    this.client = client;
  }

  public void createNamespace(String namespace) {
    client.resource(new NamespaceBuilder().withNewMetadata().withName(namespace).endMetadata().build()).serverSideApply();
  }

  /** Creates a Node and sets its Ready condition to True through the status subresource. */
  public void createReadyNode(String name) {
    Node node = Nodes.ready(name);
    Node status = Nodes.ready(name);
    node.setStatus(null);
    client.resource(node).create();
    client.nodes().withName(name).editStatus(n -> {
      n.setStatus(status.getStatus());
      return n;
    });
  }

  public void setUnschedulable(String node, boolean unschedulable) {
    Map<String, Object> spec = new HashMap<>();
    spec.put("unschedulable", unschedulable ? Boolean.TRUE : null);
    mergePatch(client.nodes().withName(node), Map.of("spec", spec));
  }

  /** Writes the slot's status as its node agent would. */
  public void setSlotPhase(String namespace, String name, SlotPhase phase, String message) {
    Map<String, Object> status = new HashMap<>();
    status.put("phase", phase.name());
    status.put("message", message);
    client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name).subresource("status")
        .patch(PatchContext.of(PatchType.JSON_MERGE), Serialization.asJson(Map.of("status", status)));
  }

  /** Puts the node agent's finalizer on the slot. */
  public void addAgentFinalizer(String namespace, String name) {
    mergePatch(client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name),
        Map.of("metadata", Map.of("finalizers", List.of(Names.SLOT_FINALIZER))));
  }

  /** Removes every finalizer from the slot, as the node agent does after tearing down host state. */
  public void removeAgentFinalizer(String namespace, String name) {
    mergePatch(client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name),
        Map.of("metadata", Map.of("finalizers", List.of())));
  }

  /** JSON merge patch without resourceVersion. */
  public static void mergePatch(Resource<?> resource, Map<String, Object> patch) {
    resource.patch(PatchContext.of(PatchType.JSON_MERGE), Serialization.asJson(patch));
  }
}
