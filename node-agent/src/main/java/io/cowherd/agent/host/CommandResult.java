package io.cowherd.agent.host;

import java.time.Duration;

/**
 * What a finished command printed.
 *
 * @param command the command that ran
 * @param exitCode its exit status (0 for results returned by {@link CommandRunner#run})
 * @param stdout standard output, decoded as UTF-8
 * @param stderr standard error, decoded as UTF-8
 * @param elapsed wall-clock run time
 */
public record CommandResult(HostCommand command, int exitCode, String stdout, String stderr, Duration elapsed) {}
