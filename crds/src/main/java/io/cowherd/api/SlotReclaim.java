package io.cowherd.api;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.ReclaimPolicy;
import java.util.Map;
import java.util.Optional;

/**
 * The one rule for "may the deletion of this slot object remove data from its node?", used by the
 * operator (to mark) and the node agent (to act). Pure.
 *
 * <p>The node agent removes data only on a positive signal: the annotation {@value #ANNOTATION}
 * that the operator sets on a slot right before it deletes it for a scale-down or a pool deletion,
 * with the pool's {@code spec.reclaimPolicy} as value. A slot deleted without it (by hand, by the
 * garbage collector, by any other tool) keeps everything on the host: exporter, devices and COW
 * store; the operator recreates the slot on the same node and the agent adopts what is there.
 *
 * <p>Abandonment ({@link #ABANDON_ANNOTATION}) deletes no data either. The operator puts {@link
 * #ABANDONED_STORE_ANNOTATION} with the abandoned slot object's UID on the slot it recreates; the
 * agent that provisions that slot moves a COW store last served by that UID aside (renamed, kept,
 * reported as unclaimed) instead of adopting it ({@link #mustMoveAside}), so the recreated slot
 * starts from an empty COW store wherever it lands.
 */
public final class SlotReclaim {
  /** Annotation the operator sets on a slot it deletes: {@code Delete} or {@code Retain}. */
  public static final String ANNOTATION = AoeBootPool.GROUP + "/reclaim";
  /**
   * Annotation a user sets (value {@value #ABANDON_VALUE}) on a slot whose Node is gone to give up
   * its COW data: the operator then deletes the slot and recreates it on an eligible node with an
   * empty COW store.
   */
  public static final String ABANDON_ANNOTATION = AoeBootPool.GROUP + "/abandon-lost-data";
  /** The only value of {@link #ABANDON_ANNOTATION} that counts. */
  public static final String ABANDON_VALUE = "true";
  /**
   * Annotation the operator sets on a slot it recreates after releasing an abandoned one: the UID
   * ({@code metadata.uid}) of the abandoned slot object, whose COW store the new slot must not adopt.
   */
  public static final String ABANDONED_STORE_ANNOTATION = AoeBootPool.GROUP + "/abandoned-store-of";

  /** What the node agent does with a slot's host state when the slot object is deleted. */
  public enum OnDeletion {
    /** Stop the exporter, remove the devices and the COW store (marked {@code Delete}). */
    REMOVE_ALL,
    /** Stop the exporter, remove the devices, keep the COW store (marked {@code Retain}). */
    KEEP_COW_STORE,
    /** Change nothing on the host; the exporter keeps serving (no mark, or an unknown one). */
    KEEP_ALL
  }

  private SlotReclaim() {}

  /** The annotation the operator sets before deleting a slot under {@code policy}. */
  public static Map<String, String> mark(ReclaimPolicy policy) {
    return Map.of(ANNOTATION, policy.name());
  }

  /** The mark on {@code slot}, if it carries a valid one. */
  public static Optional<ReclaimPolicy> markOf(AoeBootSlot slot) {
    Map<String, String> annotations = slot.getMetadata() == null ? null : slot.getMetadata().getAnnotations();
    String value = annotations == null ? null : annotations.get(ANNOTATION);
    if (value == null) {
      return Optional.empty();
    }
    for (ReclaimPolicy policy : ReclaimPolicy.values()) {
      if (policy.name().equals(value)) {
        return Optional.of(policy);
      }
    }
    return Optional.empty();
  }

  /** True when {@code slot} carries the reclaim annotation at all (valid or not). */
  public static boolean isMarked(AoeBootSlot slot) {
    Map<String, String> annotations = slot.getMetadata() == null ? null : slot.getMetadata().getAnnotations();
    return annotations != null && annotations.containsKey(ANNOTATION);
  }

  /**
   * What the agent does when {@code slot} (with a deletionTimestamp) is deleted: by its mark; no
   * mark or an unknown value keeps everything.
   */
  public static OnDeletion onDeletion(AoeBootSlot slot) {
    return markOf(slot).map(p -> switch (p) {
      case Delete -> OnDeletion.REMOVE_ALL;
      case Retain -> OnDeletion.KEEP_COW_STORE;
    }).orElse(OnDeletion.KEEP_ALL);
  }

  /** True when the user asked to give up the COW data of {@code slot} (see {@link #ABANDON_ANNOTATION}). */
  public static boolean abandoned(AoeBootSlot slot) {
    Map<String, String> annotations = slot.getMetadata() == null ? null : slot.getMetadata().getAnnotations();
    return annotations != null && ABANDON_VALUE.equals(annotations.get(ABANDON_ANNOTATION));
  }

  /** The annotation the operator sets on a slot recreated after slot object {@code abandonedUid} was abandoned. */
  public static Map<String, String> abandonment(String abandonedUid) {
    return Map.of(ABANDONED_STORE_ANNOTATION, abandonedUid);
  }

  /** The UID of the abandoned slot object whose COW store {@code slot} must not adopt, if any. */
  public static Optional<String> abandonedStoreOf(AoeBootSlot slot) {
    Map<String, String> annotations = slot.getMetadata() == null ? null : slot.getMetadata().getAnnotations();
    String value = annotations == null ? null : annotations.get(ABANDONED_STORE_ANNOTATION);
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.strip());
  }

  /**
   * True when the agent provisioning {@code slot} must move its existing COW store aside (rename,
   * keep) instead of adopting it: {@code slot} says the data of slot object X was abandoned and the
   * store was last served by X ({@code storeServedBy}, from the store's stamp). A store last served
   * by {@code slot} itself, by any other object, or of unknown history (stamp of an older agent) is
   * never moved. A store moved aside is never deleted by the agent.
   *
   * @param slot the slot being provisioned
   * @param storeServedBy UID of the slot object that made or last served the store, if recorded
   */
  public static boolean mustMoveAside(AoeBootSlot slot, Optional<String> storeServedBy) {
    String own = slot.getMetadata() == null ? null : slot.getMetadata().getUid();
    Optional<String> abandoned = abandonedStoreOf(slot);
    return abandoned.isPresent() && storeServedBy.isPresent() && abandoned.get().equals(storeServedBy.get())
        && !abandoned.get().equals(own);
  }
}
