package io.cowherd.agent.host;

import java.nio.file.Path;

/** Reads a file's synced extent map (FIEMAP): {@link Filefrag} (a subprocess) or {@link Fiemap} (one ioctl). */
public interface ExtentReader {
  /**
   * The extent map of {@code file}, after syncing it (so delayed allocations and XFS copy-on-write
   * forks are mapped).
   *
   * @throws CommandFailedException if the map cannot be read
   */
  FileExtents extents(Path file);
}
