package io.cowherd.agent.inventory;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Watches the free space of the state dir's filesystem, where every slot's COW store lives. When
 * it is (nearly) full, client writes fail with ATA errors while reads still work, so slots are
 * reported {@code Failed} with {@link Report#message()}, their exporters are kept running and no
 * data is deleted; they return to {@code Serving} when space comes back.
 *
 * <p>"Full" is below the smaller of {@link #MIN_FREE_BYTES} and {@link #MIN_FREE_FRACTION} of the
 * filesystem's size: on a large filesystem 1% would still be many gigabytes in which writes
 * succeed, and the message says that writes fail.
 */
public final class StateDirSpace {
  /** Usable bytes below which a large filesystem counts as full: 64 MiB. */
  public static final long MIN_FREE_BYTES = 64L << 20;
  /** Fraction of the size below which a small filesystem counts as full: 1%. */
  public static final double MIN_FREE_FRACTION = 0.01;

  /** Reads usable and total bytes of a filesystem (a {@link FileStore} in production). */
  @FunctionalInterface
  public interface SpaceReader {
    /**
     * @return usable and total bytes of {@code dir}'s filesystem
     * @throws IOException if the filesystem cannot be read
     */
    Report read(Path dir) throws IOException;
  }

  /**
   * One look at the filesystem.
   *
   * @param stateDir the state dir
   * @param usableBytes bytes an unprivileged write could still use ({@link FileStore#getUsableSpace()})
   * @param totalBytes filesystem size in bytes
   */
  public record Report(Path stateDir, long usableBytes, long totalBytes) {
    /** Whether client writes to COW stores there fail or are about to. */
    public boolean full() {
      return isFull(usableBytes, totalBytes);
    }

    /** Warning level of the filesystem: used = size less what a write could still use. */
    public SpaceLevel level() {
      return SpaceLevel.of(totalBytes - usableBytes, totalBytes);
    }

    /** For a warning Event: names the path, the used percent and the free bytes. */
    public String warning() {
      return "state dir " + stateDir + " filesystem is " + SpaceLevel.percentOf(totalBytes - usableBytes, totalBytes)
          + "% used (" + usableBytes + " bytes free of " + totalBytes + ")";
    }

    /** For status: names the path and the free bytes. */
    public String message() {
      return "state dir " + stateDir + " filesystem is full (" + usableBytes + " bytes free): client writes fail";
    }
  }

  private final Path stateDir;
  private final SpaceReader reader;

  /** Reads {@code stateDir}'s {@link FileStore}. */
  public StateDirSpace(Path stateDir) {
    this(stateDir, dir -> {
      FileStore store = Files.getFileStore(dir);
      return new Report(dir, store.getUsableSpace(), store.getTotalSpace());
    });
  }

  /** With another reader (tests). */
  public StateDirSpace(Path stateDir, SpaceReader reader) {
    this.stateDir = stateDir;
    this.reader = reader;
  }

  /**
   * Reads the filesystem now.
   *
   * @return the report, or empty if the state dir does not exist yet (nothing stored, nothing to fail)
   * @throws IOException if the filesystem cannot be read
   */
  public Optional<Report> check() throws IOException {
    if (!Files.isDirectory(stateDir)) {
      return Optional.empty();
    }
    return Optional.of(reader.read(stateDir));
  }

  /** The decision: below the smaller of 64 MiB and 1% of {@code totalBytes}. Pure. */
  public static boolean isFull(long usableBytes, long totalBytes) {
    return usableBytes < minFreeBytes(totalBytes);
  }

  /**
   * Bytes that must stay free on a filesystem of {@code totalBytes}: the smaller of 64 MiB and 1%.
   * Space reservations never take them, so reserving never makes the filesystem "full". Pure.
   */
  public static long minFreeBytes(long totalBytes) {
    return Math.min(MIN_FREE_BYTES, (long) (totalBytes * MIN_FREE_FRACTION));
  }
}
