package io.cowherd.agent.host;

import java.time.Duration;

/**
 * A host command exited non-zero (or could not be started: exit code -1). The message shows the
 * argv for humans only; classifiers such as {@link Losetup#isNotFound} read {@link #stderr()}.
 */
public class CommandFailedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient HostCommand command;
  private final int exitCode;
  private final String stderr;
  private final Duration elapsed;

  /**
   * @param command the command
   * @param exitCode its exit status, -1 if it could not be started
   * @param stderr its standard error (trimmed in the message)
   * @param elapsed how long it ran
   */
  public CommandFailedException(HostCommand command, int exitCode, String stderr, Duration elapsed) {
    super("command failed with exit code " + exitCode + " after " + elapsed.toMillis() + " ms: " + command
        + (stderr == null || stderr.isBlank() ? "" : ": " + stderr.strip()));
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr == null ? "" : stderr;
    this.elapsed = elapsed;
  }

  public HostCommand command() {
    return command;
  }

  public int exitCode() {
    return exitCode;
  }

  public String stderr() {
    return stderr;
  }

  public Duration elapsed() {
    return elapsed;
  }

  /** The last non-blank line of stderr, or an empty string. */
  public String lastStderrLine() {
    String[] lines = stderr.strip().split("\n");
    return lines[lines.length - 1].strip();
  }
}
