package io.cowherd.operator.support;

import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Duration;
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

  /**
   * Deletes pool {@code pool} of {@code namespace} and waits (up to 60 s) until it and its slots are
   * gone (the running agents release them), then runs {@code stop} (agents, heartbeats, operator)
   * and deletes {@code nodes}: other test classes on the shared API server place slots on any Ready
   * Node with a live agent Lease they see, so a test's nodes must not outlive it. {@code stop} and
   * the node deletions run even if the wait fails.
   */
  public void deletePoolThenNodes(String namespace, String pool, Runnable stop, List<String> nodes) {
    try {
      client.resources(AoeBootPool.class).inNamespace(namespace).withName(pool).delete();
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() ->
          client.resources(AoeBootSlot.class).inNamespace(namespace).list().getItems().isEmpty()
              && client.resources(AoeBootPool.class).inNamespace(namespace).withName(pool).get() == null);
    } finally {
      try {
        stop.run();
      } finally {
        nodes.forEach(node -> client.nodes().withName(node).delete());
      }
    }
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

  /**
   * Puts the node agent's finalizer on the slot. Slots the operator creates carry it from the start
   * ({@code DesiredSlots#asNew}); this is for slots a test writes itself.
   */
  public void addAgentFinalizer(String namespace, String name) {
    mergePatch(client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name),
        Map.of("metadata", Map.of("finalizers", List.of(Names.SLOT_FINALIZER))));
  }

  /** Removes every finalizer from the slot, as the node agent does after tearing down host state. */
  public void removeAgentFinalizer(String namespace, String name) {
    mergePatch(client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name),
        Map.of("metadata", Map.of("finalizers", List.of())));
  }

  /**
   * Plays the node agents' part in a deletion for every slot of {@code namespace} that is being
   * deleted, except those named in {@code held}: removes the agent's finalizer, which the operator
   * puts on every slot it creates, as an agent does once it has torn the slot down. For tests that
   * run without an agent; since the operator deletes in the background, call it where the test
   * waits (inside an Awaitility condition).
   */
  public void releaseDeletedSlots(String namespace, String... held) {
    List<String> kept = List.of(held);
    for (AoeBootSlot slot : client.resources(AoeBootSlot.class).inNamespace(namespace).list().getItems()) {
      String name = slot.getMetadata().getName();
      List<String> finalizers = slot.getMetadata().getFinalizers();
      if (slot.getMetadata().getDeletionTimestamp() == null || kept.contains(name)
          || finalizers == null || !finalizers.contains(Names.SLOT_FINALIZER)) {
        continue;
      }
      try {
        removeAgentFinalizer(namespace, name);
      } catch (KubernetesClientException e) {
        if (e.getCode() != 404) {
          throw e;
        }
      }
    }
  }

  /** JSON merge patch without resourceVersion. */
  public static void mergePatch(Resource<?> resource, Map<String, Object> patch) {
    resource.patch(PatchContext.of(PatchType.JSON_MERGE), Serialization.asJson(patch));
  }
}
