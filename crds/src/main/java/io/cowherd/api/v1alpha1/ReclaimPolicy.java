package io.cowherd.api.v1alpha1;

/**
 * What happens to a slot's COW store when the operator deletes the slot because of a scale-down or
 * the deletion of its pool. Nothing else ever removes COW data (see {@link io.cowherd.api.SlotReclaim}).
 */
public enum ReclaimPolicy {
  /** The node agent removes the slot's exporter, devices and COW store. */
  Delete,
  /**
   * The node agent removes the slot's exporter and devices and keeps its COW store on the node; a
   * later scale-up of the same pool serves the slot from it again (on the same node).
   */
  Retain
}
