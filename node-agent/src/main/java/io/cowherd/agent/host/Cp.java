package io.cowherd.agent.host;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code cp(1)} as a reflink cloner: {@code cp --reflink=always SOURCE DEST} makes DEST share every
 * block of SOURCE through the FICLONE ioctl (ioctl_ficlone(2)) and fails instead of copying when
 * the filesystem cannot share blocks. ({@code --sparse=always} is refused by coreutils together
 * with {@code --reflink}, and is not needed: a clone shares holes as well.)
 *
 * <p>cp runs under {@code setpriv --pdeathsig KILL} (util-linux): the kernel kills it when the
 * agent thread that started it dies, so a SIGKILLed agent leaves no clone running on. (Harmless
 * anyway: it writes only the {@code .partial} file, which the next agent deletes before cloning
 * again, and never renames it.) Exporters, in contrast, are meant to outlive the agent.
 */
public final class Cp {
  /** A clone is a metadata operation, but a fragmented multi-GiB origin may take a while. */
  static final Duration CLONE_TIMEOUT = Duration.ofMinutes(10);

  private final CommandRunner runner;

  public Cp(CommandRunner runner) {
    this.runner = runner;
  }

  /** argv cloning {@code source} to {@code dest} or failing; cp dies with the agent. */
  public static HostCommand reflinkCommand(Path source, Path dest) {
    return new HostCommand(diesWithAgent("cp", "--reflink=always", source.toString(), dest.toString()), CLONE_TIMEOUT);
  }

  /**
   * {@code setpriv --pdeathsig KILL -- argv...}: {@code argv} exec'd with PR_SET_PDEATHSIG set
   * (prctl(2)), so SIGKILL reaches it when the thread that started it exits, e.g. with the agent.
   */
  public static List<String> diesWithAgent(String... argv) {
    List<String> wrapped = new ArrayList<>(List.of("setpriv", "--pdeathsig", "KILL", "--"));
    wrapped.addAll(List.of(argv));
    return List.copyOf(wrapped);
  }

  /**
   * Clones {@code source} to {@code dest}.
   *
   * @throws CommandFailedException if cp fails; {@link #isReflinkUnsupported} tells a filesystem
   *     without reflink (EOPNOTSUPP, EINVAL) or two filesystems (EXDEV)
   */
  public void reflink(Path source, Path dest) {
    runner.run(reflinkCommand(source, dest));
  }

  /** Whether {@code e} says the clone is impossible here (not a transient failure). */
  public static boolean isReflinkUnsupported(CommandFailedException e) {
    String s = e.stderr();
    return s.contains("Operation not supported")
        || s.contains("Invalid cross-device link")
        || s.contains("Inappropriate ioctl")
        || (s.contains("failed to clone") && s.contains("Invalid argument"));
  }
}
