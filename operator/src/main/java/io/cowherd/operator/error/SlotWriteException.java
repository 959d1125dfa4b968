package io.cowherd.operator.error;

/** Creating, updating, deleting or releasing a slot object failed at the API server. */
public final class SlotWriteException extends ReconcileException {
  /** Condition reason of this failure. */
  public static final String REASON = "SlotWriteFailed";
  private static final long serialVersionUID = 1L;

  private final String slotName;
  private final String operation;

  /**
   * @param namespace namespace of the slot
   * @param slotName name of the slot object, {@code <pool>-<slot>}
   * @param operation what was attempted, e.g. {@code "create"}, {@code "delete"}
   * @param cause the API failure
   */
  public SlotWriteException(String namespace, String slotName, String operation, Throwable cause) {
    super(operation + " slot " + namespace + "/" + slotName + " failed: " + cause.getMessage(), cause);
    this.slotName = slotName;
    this.operation = operation;
  }

  /** Name of the slot object. */
  public String slotName() {
    return slotName;
  }

  /** What was attempted. */
  public String operation() {
    return operation;
  }

  @Override
  public String reason() {
    return REASON;
  }
}
