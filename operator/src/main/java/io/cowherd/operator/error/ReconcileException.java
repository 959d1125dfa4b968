package io.cowherd.operator.error;

/**
 * A failure during pool reconciliation that carries the condition reason it maps to. The reconciler
 * throws; {@code PoolReconciler.updateErrorStatus} turns it into Ready=False / Degraded=True with
 * this reason and the message, and JOSDK retries.
 */
public abstract class ReconcileException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * @param message what failed, for humans (becomes the condition message)
   * @param cause the underlying failure, usually a {@code KubernetesClientException}
   */
  protected ReconcileException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Condition reason, a CamelCase word such as {@code SlotWriteFailed}. */
  public abstract String reason();
}
