package io.cowherd.agent.backend;

/**
 * The requested COW backend cannot work on this node (no reflink on the state dir's filesystem,
 * no device-mapper). Nothing was changed on the host; retrying will not help until the node
 * changes, so the slot goes {@code Failed} with this message.
 */
public class BackendUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public BackendUnavailableException(String message) {
    super(message);
  }
}
