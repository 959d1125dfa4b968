package io.cowherd.agent.host;

import java.util.List;
import java.util.Set;

/**
 * A file's extent map as {@code filefrag -v} reports it (FIEMAP).
 *
 * @param sizeBytes file size in bytes
 * @param blockBytes size of the blocks extents are counted in, bytes
 * @param extents mapped extents in file order
 */
public record FileExtents(long sizeBytes, long blockBytes, List<Extent> extents) {
  public FileExtents {
    extents = List.copyOf(extents);
  }

  /**
   * One extent.
   *
   * @param logicalBlock first block in the file, in {@code blockBytes} units
   * @param lengthBlocks length, in {@code blockBytes} units
   * @param flags FIEMAP flags as filefrag prints them ({@code shared}, {@code unwritten}, ...)
   */
  public record Extent(long logicalBlock, long lengthBlocks, Set<String> flags) {
    public Extent {
      flags = Set.copyOf(flags);
    }
  }

  /** Bytes in extents not marked {@code shared}: data this file no longer shares with a clone. */
  public long unsharedBytes() {
    long blocks = 0;
    for (Extent e : extents) {
      if (!e.flags().contains("shared")) {
        blocks += e.lengthBlocks();
      }
    }
    return blocks * blockBytes;
  }
}
