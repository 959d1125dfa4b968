package io.cowherd.api;

/**
 * The condition the operator writes into {@code AoeBootSlot.status.conditions} (the node agent
 * writes every other status field; one writer per field). Pure constants.
 */
public final class SlotConditions {
  /**
   * Condition type: whether the slot's Node object exists. False with reason {@link #NODE_LOST}
   * while it is gone; True with reason {@link #NODE_FOUND} once it is back. Absent until the Node
   * was first seen missing.
   */
  public static final String NODE_AVAILABLE = "NodeAvailable";
  /** Reason: the slot's Node object is gone; its COW store and target are kept for it. */
  public static final String NODE_LOST = "NodeLost";
  /** Reason: the slot's Node object exists (again). */
  public static final String NODE_FOUND = "NodeFound";

  private SlotConditions() {}
}
