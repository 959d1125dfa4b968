package io.cowherd.agent.host;

/**
 * Runs external commands. The one seam through which the node agent changes or reads the host
 * with programs; tests use a fake that records argv and scripts results.
 */
public interface CommandRunner {
  /**
   * Runs {@code command} to completion.
   *
   * @return the result; its exit code is 0
   * @throws CommandFailedException if the program exits non-zero or cannot be started
   * @throws CommandTimedOutException if it runs longer than {@link HostCommand#timeout()} (it is
   *     killed)
   */
  CommandResult run(HostCommand command);
}
