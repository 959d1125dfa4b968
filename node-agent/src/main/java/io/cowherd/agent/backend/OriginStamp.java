package io.cowherd.agent.backend;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Which origin a COW store was made from: the origin's real path in {@code <store>.origin} beside
 * it. A store outlives its slot object (reclaim policy Retain, a deletion without the operator's
 * mark), so a later slot with the same namespace, pool and slot number may meet it; serving it
 * over another origin would hand the client a disk that is neither (a dm-snapshot exception store
 * over the wrong origin), and a reflink clone would hide the new origin. Such a store is a {@link
 * HostConflictException}: not served, not removed. Stores made before stamps existed are not
 * checked.
 */
final class OriginStamp {
  private OriginStamp() {}

  /** The stamp file of {@code store}. */
  static Path of(Path store) {
    return store.resolveSibling(store.getFileName() + ".origin");
  }

  /**
   * @throws HostConflictException when {@code store} was stamped with another origin than {@code origin}
   */
  static void check(Path store, Path origin) {
    String stamped;
    try {
      stamped = Files.readString(of(store), StandardCharsets.UTF_8).strip();
    } catch (NoSuchFileException e) {
      return;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + of(store) + ": " + e.getMessage(), e);
    }
    if (!stamped.equals(origin.toString())) {
      throw new HostConflictException("COW store " + store + " was made from origin " + stamped + ", but this slot's"
          + " origin is " + origin + ": it holds writes over another disk, so it is neither served nor removed."
          + " Restore the pool's image, or delete " + store + " and " + of(store) + " by hand to start this slot"
          + " from " + origin);
    }
  }

  /** Records {@code origin} for a store just made (atomically: written beside it, then renamed). */
  static void write(Path store, Path origin) {
    Path partial = of(store).resolveSibling(of(store).getFileName() + ".partial");
    try {
      Files.writeString(partial, origin + "\n", StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + partial + ": " + e.getMessage(), e);
    }
    StoreFiles.commit(partial, of(store));
  }

  /** Deletes the stamp of {@code store}, if any. */
  static void remove(Path store) {
    StoreFiles.deleteIfExists(of(store));
    StoreFiles.deleteIfExists(of(store).resolveSibling(of(store).getFileName() + ".partial"));
  }
}
