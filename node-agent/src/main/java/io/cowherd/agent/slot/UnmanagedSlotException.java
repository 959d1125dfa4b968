package io.cowherd.agent.slot;

/**
 * A slot object that its pool did not make: its name is not {@code <spec.pool>-<spec.slot>} or it
 * has no controller owner reference to {@code AoeBootPool spec.pool}. The agent identifies host
 * state by (namespace, pool, slot), so serving or tearing down such an object could hit another
 * slot's exporter and COW data: it is reported {@code Failed} and otherwise left alone.
 */
public final class UnmanagedSlotException extends InvalidSlotException {
  private static final long serialVersionUID = 1L;

  /** @param message says which name and owner the slot must have */
  public UnmanagedSlotException(String message) {
    super(message);
  }
}
