package io.cowherd.agent.host;

import java.time.Duration;

/** A host command ran longer than its timeout and was killed. */
public class CommandTimedOutException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient HostCommand command;
  private final Duration timeout;

  public CommandTimedOutException(HostCommand command, Duration timeout) {
    super("command timed out after " + timeout.toMillis() + " ms and was killed: " + command);
    this.command = command;
    this.timeout = timeout;
  }

  public HostCommand command() {
    return command;
  }

  public Duration timeout() {
    return timeout;
  }
}
