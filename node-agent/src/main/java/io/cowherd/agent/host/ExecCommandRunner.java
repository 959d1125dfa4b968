package io.cowherd.agent.host;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.apache.commons.exec.CommandLine;
import org.apache.commons.exec.DefaultExecutor;
import org.apache.commons.exec.ExecuteException;
import org.apache.commons.exec.ExecuteWatchdog;
import org.apache.commons.exec.PumpStreamHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link CommandRunner} on Apache commons-exec: the argv is passed element by element without
 * quoting ({@code addArgument(arg, false)}), so a dm table such as {@code 0 2048 snapshot ...}
 * reaches the program as one argument; an {@link ExecuteWatchdog} kills the program after its
 * timeout; the environment is the agent's plus {@code LC_ALL=C} so messages that classifiers read
 * are not translated. Stdout and stderr are captured, {@link HostCommand#stdin()} (if any) is fed
 * to the program; every argv is logged at debug level.
 */
public final class ExecCommandRunner implements CommandRunner {
  private static final Logger LOG = LoggerFactory.getLogger(ExecCommandRunner.class);

  private final Clock clock;
  private final Map<String, String> environment;

  /** A runner using the system clock and the agent's environment. */
  public ExecCommandRunner() {
    this(Clock.systemUTC(), System.getenv());
  }

  ExecCommandRunner(Clock clock, Map<String, String> baseEnvironment) {
    this.clock = clock;
    Map<String, String> env = new HashMap<>(baseEnvironment);
    env.put("LC_ALL", "C");
    this.environment = Map.copyOf(env);
  }

  @Override
  public CommandResult run(HostCommand command) {
    CommandLine line = new CommandLine(command.program());
    for (String arg : command.argv().subList(1, command.argv().size())) {
      line.addArgument(arg, false);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    ExecuteWatchdog watchdog = ExecuteWatchdog.builder().setTimeout(command.timeout()).get();
    DefaultExecutor executor = DefaultExecutor.builder()
        .setExecuteStreamHandler(command.stdin() == null ? new PumpStreamHandler(out, err)
            : new PumpStreamHandler(out, err, new java.io.ByteArrayInputStream(command.stdin())))
        .get();
    executor.setWatchdog(watchdog);
    executor.setExitValues(null); // every exit code is returned; we decide below
    LOG.debug("running: {}", command);
    Instant start = clock.instant();
    int exit;
    try {
      exit = executor.execute(line, environment);
    } catch (ExecuteException e) {
      exit = e.getExitValue();
    } catch (IOException e) {
      Duration elapsed = Duration.between(start, clock.instant());
      throw new CommandFailedException(command, -1, "cannot start " + command.program() + ": " + e.getMessage(), elapsed);
    }
    Duration elapsed = Duration.between(start, clock.instant());
    String stdout = out.toString(StandardCharsets.UTF_8);
    String stderr = err.toString(StandardCharsets.UTF_8);
    if (watchdog.killedProcess()) {
      LOG.warn("timed out after {} ms: {}", elapsed.toMillis(), command);
      throw new CommandTimedOutException(command, command.timeout());
    }
    LOG.debug("exit {} after {} ms: {}", exit, elapsed.toMillis(), command);
    if (exit != 0) {
      throw new CommandFailedException(command, exit, stderr, elapsed);
    }
    return new CommandResult(command, exit, stdout, stderr, elapsed);
  }
}
