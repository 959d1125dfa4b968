package io.cowherd.agent.backend;

/**
 * Teardown could not finish yet (a device is still busy or still attached); it is retried and the
 * finalizer stays until it finishes.
 */
public class TeardownIncompleteException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public TeardownIncompleteException(String message) {
    super(message);
  }
}
