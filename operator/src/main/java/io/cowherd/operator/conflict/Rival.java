package io.cowherd.operator.conflict;

/**
 * The pool that keeps a target another pool wants.
 *
 * @param poolRef {@code namespace/name} of the rival pool
 * @param holdsExistingSlot true when the rival already has a slot object for the target; false
 *     when it merely claims it and is older
 */
public record Rival(String poolRef, boolean holdsExistingSlot) {
  /** How the rival holds the target, for messages. */
  public String describe() {
    return holdsExistingSlot ? "served by an existing slot of pool " + poolRef : "claimed by older pool " + poolRef;
  }
}
