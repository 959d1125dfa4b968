package io.cowherd.agent.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The one rule that keeps origins apart from COW stores: no image root may contain the state dir,
 * lie inside it or be it, with symlinks resolved. Checked once at agent start, before anything
 * touches the host; the agent refuses to start otherwise.
 */
public final class ImageRoots {
  private ImageRoots() {}

  /**
   * Checks every root of {@code imageRoots} against {@code stateDir}.
   *
   * @throws ImageRootOverlapException naming the first root that overlaps the state dir
   * @throws UncheckedIOException when a path cannot be resolved
   */
  public static void requireApartFromStateDir(List<Path> imageRoots, Path stateDir) {
    Path realState = realPath(stateDir);
    for (Path root : imageRoots) {
      Path realRoot = realPath(root);
      if (realRoot.startsWith(realState) || realState.startsWith(realRoot)) {
        throw new ImageRootOverlapException(root, realRoot, stateDir, realState);
      }
    }
  }

  /**
   * The real path of {@code path}: symlinks resolved in its longest existing prefix, the rest (not
   * yet created) appended as given, normalized.
   *
   * @throws UncheckedIOException when an existing prefix cannot be resolved
   */
  static Path realPath(Path path) {
    Path absolute = path.toAbsolutePath().normalize();
    Path existing = absolute;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      return absolute;
    }
    try {
      return existing.toRealPath().resolve(existing.relativize(absolute)).normalize();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot resolve " + existing, e);
    }
  }
}
