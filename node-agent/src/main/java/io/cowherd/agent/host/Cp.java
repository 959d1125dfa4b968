package io.cowherd.agent.host;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * {@code cp(1)} as a reflink cloner: {@code cp --reflink=always SOURCE DEST} makes DEST share every
 * block of SOURCE through the FICLONE ioctl (ioctl_ficlone(2)) and fails instead of copying when
 * the filesystem cannot share blocks. ({@code --sparse=always} is refused by coreutils together
 * with {@code --reflink}, and is not needed: a clone shares holes as well.)
 */
public final class Cp {
  /** A clone is a metadata operation, but a fragmented multi-GiB origin may take a while. */
  static final Duration CLONE_TIMEOUT = Duration.ofMinutes(10);

  private final CommandRunner runner;

  public Cp(CommandRunner runner) {
    this.runner = runner;
  }

  /** argv cloning {@code source} to {@code dest} or failing. */
  public static HostCommand reflinkCommand(Path source, Path dest) {
    return new HostCommand(List.of("cp", "--reflink=always", source.toString(), dest.toString()), CLONE_TIMEOUT);
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
