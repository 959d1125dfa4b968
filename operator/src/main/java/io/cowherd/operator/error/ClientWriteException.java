package io.cowherd.operator.error;

/** Writing an AoeBootClient's status failed (a 409 means another write came first: retried with a fresh read). */
public final class ClientWriteException extends ReconcileException {
  /** Condition reason of this failure. */
  public static final String REASON = "ClientWriteFailed";
  private static final long serialVersionUID = 1L;

  /**
   * @param namespace namespace of the client
   * @param name client name
   * @param cause the API failure
   */
  public ClientWriteException(String namespace, String name, Throwable cause) {
    super("update status of client " + namespace + "/" + name + " failed: " + cause.getMessage(), cause);
  }

  @Override
  public String reason() {
    return REASON;
  }
}
