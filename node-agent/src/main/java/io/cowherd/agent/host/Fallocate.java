package io.cowherd.agent.host;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * {@code fallocate(1)} (util-linux) as a space reservation: {@code fallocate --length BYTES FILE}
 * calls fallocate(2) with mode 0 over {@code [0, BYTES)}: every hole becomes an allocated,
 * unwritten extent (it still reads as zeros), existing data is never changed, and the filesystem
 * either allocates it all or fails with ENOSPC. Later writes into the range need no new blocks on
 * filesystems that overwrite in place (XFS, ext4); on copy-on-write filesystems (btrfs without
 * {@code nodatacow}) they may.
 */
public final class Fallocate {
  /** Allocating unwritten extents is metadata work; a very large, fragmented file may take a while. */
  static final Duration TIMEOUT = Duration.ofMinutes(2);
  /** strerror(ENOSPC) as fallocate prints it (LC_ALL=C). */
  private static final String ENOSPC = "No space left on device";

  private final CommandRunner runner;

  public Fallocate(CommandRunner runner) {
    this.runner = runner;
  }

  /** argv reserving the first {@code bytes} bytes of {@code file}. */
  public static HostCommand command(Path file, long bytes) {
    return new HostCommand(List.of("fallocate", "--length", Long.toString(bytes), file.toString()), TIMEOUT);
  }

  /**
   * Reserves the first {@code bytes} bytes of {@code file} (created if missing, never shrunk).
   *
   * @throws CommandFailedException if fallocate fails; {@link #isNoSpace} tells ENOSPC
   */
  public void reserve(Path file, long bytes) {
    runner.run(command(file, bytes));
  }

  /** Whether {@code e} is the filesystem refusing for lack of space (ENOSPC). */
  public static boolean isNoSpace(CommandFailedException e) {
    return e.stderr().contains(ENOSPC);
  }
}
