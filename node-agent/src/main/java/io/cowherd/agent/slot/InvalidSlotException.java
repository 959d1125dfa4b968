package io.cowherd.agent.slot;

/**
 * A slot's spec cannot be served on this node (image outside the allowed roots, missing, not a
 * multiple of 512 bytes, interface missing, address out of range...). Raised before any host
 * change; the slot goes {@code Failed} with this message and is not retried until it changes (or
 * the periodic re-check finds the node changed).
 */
public class InvalidSlotException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public InvalidSlotException(String message) {
    super(message);
  }
}
