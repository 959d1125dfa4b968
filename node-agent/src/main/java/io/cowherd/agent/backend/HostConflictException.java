package io.cowherd.agent.backend;

/**
 * A host object with one of this slot's names exists but is not this slot's (e.g. a dm device
 * with our name and another UUID). cowherd never uses or removes it; the slot goes {@code Failed}.
 */
public class HostConflictException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public HostConflictException(String message) {
    super(message);
  }
}
