package io.cowherd.operator.error;

/**
 * A direct read from the API server (not from an informer cache) failed. The operator reads
 * directly only before irreversible steps: confirming a Node is gone, re-checking targets before
 * creating slots, confirming a deleted pool has no slots left.
 */
public final class ClusterReadException extends ReconcileException {
  /** Condition reason of this failure. */
  public static final String REASON = "ClusterReadFailed";
  private static final long serialVersionUID = 1L;

  /**
   * @param what what was read, e.g. {@code "node n1"}
   * @param cause the API failure
   */
  public ClusterReadException(String what, Throwable cause) {
    super("reading " + what + " failed: " + cause.getMessage(), cause);
  }

  @Override
  public String reason() {
    return REASON;
  }
}
