package io.cowherd.agent.config;

import java.nio.file.Path;

/**
 * An image root and the state dir overlap (one contains the other, or they are the same directory,
 * symlinks resolved): a pool's origin could then be another pool's live COW store.
 */
public final class ImageRootOverlapException extends IllegalArgumentException {
  /**
   * @param imageRoot the image root as configured
   * @param realImageRoot its real path
   * @param stateDir the state dir as configured
   * @param realStateDir its real path
   */
  public ImageRootOverlapException(Path imageRoot, Path realImageRoot, Path stateDir, Path realStateDir) {
    super("image root " + imageRoot + " (real path " + realImageRoot + ") " + relation(realImageRoot, realStateDir)
        + " the state dir " + stateDir + " (real path " + realStateDir + "): a pool whose image lies there could"
        + " serve another pool's live COW store as its origin. Keep origin images outside the state dir, e.g."
        + " --image-root /srv/cowherd/images with --state-dir /var/lib/cowherd (docs/install.md, \"Moving images"
        + " out of the state dir\").");
  }

  private static String relation(Path root, Path state) {
    if (root.equals(state)) {
      return "is";
    }
    return state.startsWith(root) ? "contains" : "lies inside";
  }
}
