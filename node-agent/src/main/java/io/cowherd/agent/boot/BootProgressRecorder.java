package io.cowherd.agent.boot;

import java.time.Instant;

/** Records boot stages into the client's {@code status.boot}. Must not block the caller. */
public interface BootProgressRecorder {
  /** The boot endpoint answered client {@code namespace/name} with its sanboot script at {@code when}. */
  void scriptServed(String namespace, String name, Instant when);

  /** An AoE Query Config from client {@code namespace/name}'s MAC was seen on the wire at {@code when}. */
  void queried(String namespace, String name, Instant when);

  /**
   * The boot endpoint held back client {@code namespace/name}'s script at {@code when} because its
   * slot is stale under {@code updateStrategy: OnReboot}: recorded as {@code
   * status.boot.updateRequestedAt}, which the operator answers by moving the slot.
   */
  void updateRequested(String namespace, String name, Instant when);
}
