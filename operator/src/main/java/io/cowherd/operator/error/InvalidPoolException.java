package io.cowherd.operator.error;

/**
 * The pool cannot be reconciled as written and the CRD schema did not catch it (for example a pool
 * without {@code spec}). Nothing is created or changed for it.
 */
public final class InvalidPoolException extends ReconcileException {
  /** Condition reason of this failure. */
  public static final String REASON = "InvalidSpec";
  private static final long serialVersionUID = 1L;

  /**
   * @param message what is wrong, naming the field (e.g. {@code "spec is missing"})
   */
  public InvalidPoolException(String message) {
    super(message, null);
  }

  @Override
  public String reason() {
    return REASON;
  }
}
