package io.cowherd.operator.conflict;

import io.cowherd.api.v1alpha1.AoeBootSlot;

/**
 * A target held by an existing slot object (being deleted or not: until it is gone its exporter may
 * still run).
 *
 * @param namespace namespace of the slot object
 * @param pool {@code spec.pool} of the slot object
 * @param shelf {@code spec.shelf} of the slot object
 * @param slot {@code spec.slot} of the slot object
 */
public record HeldTarget(String namespace, String pool, int shelf, int slot) {
  /** The target held by {@code slot}. */
  public static HeldTarget of(AoeBootSlot slot) {
    return new HeldTarget(
        slot.getMetadata().getNamespace(), slot.getSpec().getPool(), slot.getSpec().getShelf(), slot.getSpec().getSlot());
  }

  /** True when the slot object belongs to pool {@code namespace/name}. */
  public boolean isOfPool(String poolNamespace, String poolName) {
    return namespace.equals(poolNamespace) && pool.equals(poolName);
  }

  /** {@code namespace/pool}. */
  public String poolRef() {
    return namespace + "/" + pool;
  }
}
