package io.cowherd.agent.inventory;

/** Another node agent holds this node's {@link AgentLock}; this agent must not start. */
public final class AgentLockedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** @param message names the lock file and the holder's pid */
  public AgentLockedException(String message) {
    super(message);
  }
}
