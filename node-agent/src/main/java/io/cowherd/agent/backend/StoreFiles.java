package io.cowherd.agent.backend;

import java.io.IOException;
import java.io.UncheckedIOException;
import io.cowherd.agent.inventory.StateDirSpace;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** File operations shared by the backends: durable rename, cleanup of empty directories. */
final class StoreFiles {
  private StoreFiles() {}

  /** Flushes {@code partial} to disk, renames it atomically to {@code target}, flushes the directory. */
  static void commit(Path partial, Path target) {
    try {
      try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
      try (FileChannel dir = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
        dir.force(true);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot commit " + partial + " to " + target + ": " + e.getMessage(), e);
    }
  }

  static void createDirectories(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
    }
  }

  /** @return whether the file existed */
  static boolean deleteIfExists(Path file) {
    try {
      return Files.deleteIfExists(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + file + ": " + e.getMessage(), e);
    }
  }

  /** Deletes {@code dir} and then its parent while they are empty, never above {@code stop}. */
  static void deleteEmptyDirs(Path dir, Path stop) {
    Path d = dir;
    while (d != null && d.startsWith(stop) && !d.equals(stop)) {
      try {
        Files.deleteIfExists(d);
      } catch (DirectoryNotEmptyException e) {
        return; // another slot's files are there: keep it
      } catch (IOException e) {
        throw new UncheckedIOException("cannot delete " + d + ": " + e.getMessage(), e);
      }
      d = d.getParent();
    }
  }

  /**
   * Bytes a new reservation may take on {@code path}'s filesystem: what an unprivileged write could
   * use (statvfs f_bavail) less the minimum every state dir keeps free ({@link
   * StateDirSpace#minFreeBytes}); may be negative.
   */
  static long availableBytes(Path path) {
    try {
      FileStore store = Files.getFileStore(existingAncestor(path));
      return store.getUsableSpace() - StateDirSpace.minFreeBytes(store.getTotalSpace());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the free space of " + path + ": " + e.getMessage(), e);
    }
  }

  /** The nearest existing ancestor of {@code path} (itself if it exists). */
  static Path existingAncestor(Path path) {
    Path p = path.toAbsolutePath();
    while (p != null && !Files.exists(p)) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("no existing ancestor of " + path);
    }
    return p;
  }
}
