package io.cowherd.agent.host;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * One external command: an argument vector (never a shell string) and how long it may run.
 *
 * @param argv program and arguments, each one element, passed to the kernel as they are
 * @param timeout how long the command may run before it is killed
 * @param stdin bytes fed to the program's standard input, then end of file ({@code null}: none; its
 *     stdin is then an empty pipe, as before)
 */
public record HostCommand(List<String> argv, Duration timeout, byte[] stdin) {
  /** Default timeout for quick host tools (losetup, dmsetup, filefrag). */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  /** A command without standard input. */
  public HostCommand(List<String> argv, Duration timeout) {
    this(argv, timeout, null);
  }

  public HostCommand {
    argv = List.copyOf(argv);
    stdin = stdin == null ? null : stdin.clone();
    Objects.requireNonNull(timeout, "timeout");
    if (argv.isEmpty()) {
      throw new IllegalArgumentException("argv must name a program");
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive: " + timeout);
    }
  }

  /** A command with {@link #DEFAULT_TIMEOUT}. */
  public static HostCommand of(String... argv) {
    return new HostCommand(List.of(argv), DEFAULT_TIMEOUT);
  }

  /** The same argv with another timeout. */
  public HostCommand withTimeout(Duration newTimeout) {
    return new HostCommand(argv, newTimeout, stdin);
  }

  /** The same argv and timeout with {@code input} on standard input. */
  public HostCommand withStdin(byte[] input) {
    return new HostCommand(argv, timeout, input);
  }

  @Override
  public byte[] stdin() {
    return stdin == null ? null : stdin.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HostCommand c && argv.equals(c.argv) && timeout.equals(c.timeout)
        && java.util.Arrays.equals(stdin, c.stdin);
  }

  @Override
  public int hashCode() {
    return Objects.hash(argv, timeout, java.util.Arrays.hashCode(stdin));
  }

  /** The program name (argv[0]). */
  public String program() {
    return argv.getFirst();
  }

  /**
   * The argv for humans (logs, messages): elements joined by spaces, elements with spaces quoted.
   * Never executed.
   */
  @Override
  public String toString() {
    StringBuilder b = new StringBuilder();
    for (String a : argv) {
      if (!b.isEmpty()) {
        b.append(' ');
      }
      b.append(a.isEmpty() || a.chars().anyMatch(Character::isWhitespace) ? "'" + a + "'" : a);
    }
    return b.toString();
  }
}
