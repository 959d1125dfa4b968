package io.cowherd.operator.pool;

import io.cowherd.api.Names;
import io.cowherd.api.SlotOrigins;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotSpec;
import io.cowherd.api.v1alpha1.CowSpec;
import io.cowherd.api.v1alpha1.ExportSpec;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** Builds the slot objects a pool wants. Pure. */
public final class DesiredSlots {
  private DesiredSlots() {}

  /**
   * The slot object for slot number {@code slot} of {@code pool} on {@code nodeName}: name {@code
   * <pool>-<slot>}, the pool's namespace, {@link Names#slotLabels} labels, a controller owner
   * reference to the pool (blockOwnerDeletion), and the pool's shelf, image, interface, COW and export
   * settings (defaults filled in).
   */
  public static AoeBootSlot build(AoeBootPool pool, int slot, String nodeName) {
    return build(pool, slot, nodeName, List.of());
  }

  /**
   * {@link #build(AoeBootPool, int, String)} with {@code spec.allowedMacs}: the client MACs the
   * slot's exporter serves (empty: any host).
   */
  public static AoeBootSlot build(AoeBootPool pool, int slot, String nodeName, List<String> allowedMacs) {
    String poolName = pool.getMetadata().getName();
    AoeBootSlotSpec spec = new AoeBootSlotSpec();
    spec.setPool(poolName);
    spec.setShelf(pool.getSpec().getShelf());
    spec.setSlot(slot);
    spec.setNodeName(nodeName);
    spec.setImage(pool.getSpec().getImage());
    spec.setPoolImage(pool.getSpec().getImage());
    spec.setInterface(pool.getSpec().getInterface());
    spec.setCow(normalized(pool.getSpec().getCow()));
    spec.setExport(new ExportSpec(pool.getSpec().getExport() != null && pool.getSpec().getExport().writeCacheOrDefault()));
    spec.setAllowedMacs(List.copyOf(allowedMacs));

    AoeBootSlot desired = new AoeBootSlot();
    desired.setMetadata(new ObjectMetaBuilder()
        .withName(Names.slotName(poolName, slot))
        .withNamespace(pool.getMetadata().getNamespace())
        .withLabels(Names.slotLabels(poolName, slot, nodeName))
        .withOwnerReferences(ownerReference(pool))
        .build());
    desired.setSpec(spec);
    desired.setStatus(null);
    return desired;
  }

  /**
   * {@code desired} (from {@link #build}) as the operator creates it: with the node agent's finalizer
   * {@link Names#SLOT_FINALIZER}, the one list of finalizers a slot object is created with. On the
   * object from its first write, the agent's first reconcile serves at once (JOSDK adds a
   * controller's finalizer only when it is missing, and then reconciles only after that patch's own
   * watch event): one slot write, two watch events and a round trip fewer per slot. The flip side:
   * deleting a slot waits for its node agent from the start, also when no agent ever saw the slot.
   * Only for creates: an update never sends finalizers, so server-side apply never makes the
   * operator an owner of the agent's finalizer.
   *
   * @return {@code desired}, changed
   */
  public static AoeBootSlot asNew(AoeBootSlot desired) {
    desired.getMetadata().setFinalizers(new ArrayList<>(List.of(Names.SLOT_FINALIZER)));
    return desired;
  }

  /**
   * True when {@code existing} already has the spec, labels, owner reference and refused-reset
   * annotation ({@link SlotOrigins#RESET_REFUSED_ANNOTATION}) of {@code desired}. Labels and owner
   * references added by others are allowed.
   */
  public static boolean upToDate(AoeBootSlot existing, AoeBootSlot desired) {
    return sameSpec(existing.getSpec(), desired.getSpec())
        && SlotOrigins.resetRefused(existing).equals(SlotOrigins.resetRefused(desired))
        && hasLabels(existing, desired.getMetadata().getLabels())
        && existing.getMetadata().getOwnerReferences().stream()
            .anyMatch(ref -> Boolean.TRUE.equals(ref.getController())
                && Objects.equals(ref.getUid(), desired.getMetadata().getOwnerReferences().getFirst().getUid()));
  }

  /** Controller owner reference to {@code pool}, with blockOwnerDeletion. */
  public static OwnerReference ownerReference(AoeBootPool pool) {
    return new OwnerReferenceBuilder()
        .withApiVersion(HasMetadata.getApiVersion(AoeBootPool.class))
        .withKind(HasMetadata.getKind(AoeBootPool.class))
        .withName(pool.getMetadata().getName())
        .withUid(pool.getMetadata().getUid())
        .withController(true)
        .withBlockOwnerDeletion(true)
        .build();
  }

  private static boolean sameSpec(AoeBootSlotSpec a, AoeBootSlotSpec b) {
    return Objects.equals(a.getPool(), b.getPool())
        && Objects.equals(a.getShelf(), b.getShelf())
        && Objects.equals(a.getSlot(), b.getSlot())
        && Objects.equals(a.getNodeName(), b.getNodeName())
        && Objects.equals(a.getImage(), b.getImage())
        && Objects.equals(a.getPoolImage(), b.getPoolImage())
        && Objects.equals(a.getRebuild(), b.getRebuild())
        && Objects.equals(a.getCapture(), b.getCapture())
        && Objects.equals(a.getInterface(), b.getInterface())
        && normalized(a.getCow()).equals(normalized(b.getCow()))
        && a.writeCacheOrDefault() == b.writeCacheOrDefault()
        && a.allowedMacsOrEmpty().equals(b.allowedMacsOrEmpty());
  }

  private static boolean hasLabels(AoeBootSlot slot, Map<String, String> labels) {
    Map<String, String> actual = slot.getMetadata().getLabels();
    return actual != null && actual.entrySet().containsAll(labels.entrySet());
  }

  private static CowSpec normalized(CowSpec cow) {
    CowSpec value = cow == null ? new CowSpec() : cow;
    return new CowSpec(value.backendOrDefault(), value.chunkSectorsOrDefault());
  }
}
