package io.cowherd.agent.boot;

import java.time.Instant;

/** Records boot stages into the client's {@code status.boot}. Must not block the caller. */
public interface BootProgressRecorder {
  /** The boot endpoint answered client {@code namespace/name} with its sanboot script at {@code when}. */
  void scriptServed(String namespace, String name, Instant when);
}
