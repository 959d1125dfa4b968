package io.cowherd.e2e.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A loop-mounted XFS filesystem with reflink enabled ({@code mkfs.xfs -m reflink=1}), holding both
 * the origin images ({@code images/}) and the node agent's state dir ({@code state/}): a reflink
 * clone (FICLONE, ioctl_ficlone(2)) needs source and clone on one filesystem.
 */
public final class ScratchFilesystem implements AutoCloseable {
  private final Path backingFile;
  private final Path mountPoint;

  private ScratchFilesystem(Path backingFile, Path mountPoint) {
    this.backingFile = backingFile;
    this.mountPoint = mountPoint;
  }

  /**
   * Creates a sparse backing file of {@code sizeBytes} under {@code workDir}, formats it XFS and
   * mounts it through a loop device.
   *
   * @throws Commands.CommandException when mkfs.xfs or mount fail (not root, no xfsprogs)
   */
  public static ScratchFilesystem createXfs(Path workDir, long sizeBytes) {
    try {
      Files.createDirectories(workDir);
      Path backing = workDir.resolve("scratch-xfs.img");
      Path mount = workDir.resolve("mnt");
      Files.createDirectories(mount);
      Files.deleteIfExists(backing);
      Commands.run("truncate", "-s", Long.toString(sizeBytes), backing.toString());
      Commands.run("mkfs.xfs", "-q", "-f", "-m", "reflink=1", backing.toString());
      Commands.run("mount", "-o", "loop", backing.toString(), mount.toString());
      ScratchFilesystem fs = new ScratchFilesystem(backing, mount);
      Files.createDirectories(fs.images());
      Files.createDirectories(fs.stateDir());
      return fs;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Where origin images live (the agent's allowed image root). */
  public Path images() {
    return mountPoint.resolve("images");
  }

  /** The sparse file under the loop device (its page cache is where shared extents are cached once). */
  public Path backingFile() {
    return backingFile;
  }

  /** The agent's state dir. */
  public Path stateDir() {
    return mountPoint.resolve("state");
  }

  @Override
  public void close() {
    Commands.exec(Duration.ofSeconds(60), List.of("umount", mountPoint.toString()));
    try {
      Files.deleteIfExists(backingFile);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
