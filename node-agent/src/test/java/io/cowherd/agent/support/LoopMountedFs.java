package io.cowherd.agent.support;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A filesystem made in a sparse file under a test's temp dir and loop-mounted ({@code mount -o
 * loop}); {@link #close()} unmounts it (the kernel detaches the auto-cleared loop) and deletes the
 * file.
 */
public final class LoopMountedFs implements AutoCloseable {
  private final Path image;
  private final Path mountPoint;

  private LoopMountedFs(Path image, Path mountPoint) {
    this.image = image;
    this.mountPoint = mountPoint;
  }

  /**
   * XFS made with {@code mkfs.xfs -m reflink=<reflink>}, 512 MiB sparse.
   *
   * @param reflink 1 to support FICLONE, 0 not to
   */
  public static LoopMountedFs xfs(Path dir, int reflink) throws IOException {
    HostTools.requireProgram("mkfs.xfs", "xfsprogs");
    Path image = dir.resolve("xfs-" + reflink + ".img");
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
      f.setLength(512L << 20);
    }
    HostTools.run("mkfs.xfs", "-q", "-m", "reflink=" + reflink, image.toString());
    Path mnt = Files.createDirectories(dir.resolve("mnt-xfs-" + reflink));
    HostTools.run("mount", "-o", "loop", image.toString(), mnt.toString());
    return new LoopMountedFs(image, mnt);
  }

  public Path mountPoint() {
    return mountPoint;
  }

  @Override
  public void close() throws IOException {
    HostTools.runQuietly("umount", mountPoint.toString());
    Files.deleteIfExists(image);
  }
}
