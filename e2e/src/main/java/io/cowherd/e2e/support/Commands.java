package io.cowherd.e2e.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs short external commands for test and demo set-up (namespaces, veths, mkfs, mount, kubectl):
 * always an argument vector, always with a timeout, never a shell string.
 */
public final class Commands {
  /** Default time limit for one set-up command. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  private Commands() {}

  /** Output of a finished command. */
  public record Result(List<String> argv, int exitCode, String stdout, String stderr) {
    /** True when the command exited 0. */
    public boolean ok() {
      return exitCode == 0;
    }
  }

  /** Thrown when a command exits non-zero or runs past its timeout. */
  public static final class CommandException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    CommandException(String message) {
      super(message);
    }
  }

  /**
   * Runs {@code argv} with {@link #DEFAULT_TIMEOUT} and returns its stdout.
   *
   * @throws CommandException on a non-zero exit (message has argv, exit code and stderr) or timeout
   */
  public static String run(String... argv) {
    return run(DEFAULT_TIMEOUT, argv);
  }

  /** Like {@link #run(String...)} with an explicit timeout. */
  public static String run(Duration timeout, String... argv) {
    Result r = exec(timeout, List.of(argv));
    if (!r.ok()) {
      throw new CommandException(
          "command " + r.argv() + " exited " + r.exitCode() + ": " + r.stderr().strip());
    }
    return r.stdout();
  }

  /** Runs {@code argv} and returns the result whatever the exit code; throws only on timeout. */
  public static Result exec(Duration timeout, List<String> argv) {
    return exec(timeout, argv, java.util.Map.of());
  }

  /** Like {@link #exec(Duration, List)} with {@code env} added to the inherited environment. */
  public static Result exec(Duration timeout, List<String> argv, java.util.Map<String, String> env) {
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().put("LC_ALL", "C");
    pb.environment().putAll(env);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + argv, e);
    }
    closeQuietly(p);
    CompletableFuture<String> out = drain(p.getInputStream());
    CompletableFuture<String> err = drain(p.getErrorStream());
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new CommandException("command " + argv + " timed out after " + timeout);
      }
      return new Result(argv, p.exitValue(), out.join(), err.join());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new CommandException("interrupted while running " + argv);
    }
  }

  private static void closeQuietly(Process p) {
    try {
      p.getOutputStream().close();
    } catch (IOException e) {
      // stdin of a process that already exited; nothing to do
    }
  }

  private static CompletableFuture<String> drain(InputStream in) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            return "";
          }
        },
        r -> Thread.ofVirtual().start(r));
  }
}
