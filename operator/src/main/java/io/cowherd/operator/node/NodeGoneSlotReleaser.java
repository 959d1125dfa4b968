package io.cowherd.operator.node;

import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.operator.error.ClusterReadException;
import io.cowherd.operator.error.SlotWriteException;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Releases a slot whose Node object is gone AND whose data the user gave up: its pool is being
 * deleted, or the user set {@link io.cowherd.api.SlotReclaim#ABANDON_ANNOTATION} on it. Its node
 * agent cannot act, so the operator deletes the slot and clears the agent's finalizer ({@link
 * Names#SLOT_FINALIZER}) itself. A slot whose Node is merely gone is never released: it is kept and
 * reported lost ({@link NodeLivenessWriter}).
 *
 * <p>This is the only place the operator touches the agent's finalizer, and it does so only after
 * reading the Node directly from the API server (not from a cache) and getting NotFound.
 */
public final class NodeGoneSlotReleaser {
  private static final Logger log = LoggerFactory.getLogger(NodeGoneSlotReleaser.class);

  private final KubernetesClient client;

  /**
   * @param client client used for the Node read and the slot writes
   */
  public NodeGoneSlotReleaser(KubernetesClient client) {
    this.client = client;
  }

  /**
   * Deletes {@code slot} and removes {@link Names#SLOT_FINALIZER} from it, if and only if the Node
   * named in {@code spec.nodeName} does not exist at the API server and the slot object is still
   * the one observed (same UID).
   *
   * @return true when the slot was released, false when its Node exists or the object is already
   *     gone or replaced (nothing was done)
   * @throws ClusterReadException when the Node or the slot cannot be read
   * @throws SlotWriteException when the slot cannot be deleted or patched
   */
  public boolean releaseIfNodeGone(AoeBootSlot slot) {
    String nodeName = slot.getSpec().getNodeName();
    if (nodeExists(nodeName)) {
      return false;
    }
    String namespace = slot.getMetadata().getNamespace();
    String name = slot.getMetadata().getName();
    AoeBootSlot live = liveSlot(namespace, name);
    if (live == null || !live.getMetadata().getUid().equals(slot.getMetadata().getUid())) {
      return false;
    }
    log.info("Node {} is gone: releasing slot {}/{} (its COW store on that node is lost to it)", nodeName, namespace, name);
    if (live.getMetadata().getDeletionTimestamp() == null) {
      try {
        slots(namespace, name).lockResourceVersion(live.getMetadata().getResourceVersion()).delete();
      } catch (KubernetesClientException e) {
        throw new SlotWriteException(namespace, name, "delete", e);
      }
    }
    removeAgentFinalizer(live);
    return true;
  }

  private boolean nodeExists(String nodeName) {
    try {
      return client.nodes().withName(nodeName).get() != null;
    } catch (KubernetesClientException e) {
      throw new ClusterReadException("node " + nodeName, e);
    }
  }

  private AoeBootSlot liveSlot(String namespace, String name) {
    try {
      return slots(namespace, name).get();
    } catch (KubernetesClientException e) {
      throw new ClusterReadException("slot " + namespace + "/" + name, e);
    }
  }

  /**
   * JSON patch whose {@code test} ops pin the object's UID and the finalizer's position, so a
   * concurrent change fails instead of removing another finalizer or touching a new object.
   */
  private void removeAgentFinalizer(AoeBootSlot live) {
    String namespace = live.getMetadata().getNamespace();
    String name = live.getMetadata().getName();
    List<String> finalizers = live.getMetadata().getFinalizers();
    int index = finalizers == null ? -1 : finalizers.indexOf(Names.SLOT_FINALIZER);
    if (index < 0) {
      return;
    }
    String path = "/metadata/finalizers/" + index;
    String patch = "[{\"op\":\"test\",\"path\":\"/metadata/uid\",\"value\":\"" + live.getMetadata().getUid() + "\"},"
        + "{\"op\":\"test\",\"path\":\"" + path + "\",\"value\":\"" + Names.SLOT_FINALIZER + "\"},"
        + "{\"op\":\"remove\",\"path\":\"" + path + "\"}]";
    try {
      slots(namespace, name).patch(PatchContext.of(PatchType.JSON), patch);
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        return;
      }
      throw new SlotWriteException(namespace, name, "remove finalizer " + Names.SLOT_FINALIZER + " from", e);
    }
  }

  private Resource<AoeBootSlot> slots(String namespace, String name) {
    return client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name);
  }
}
