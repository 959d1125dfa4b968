package io.cowherd.agent.backend;

import java.nio.file.Path;

/**
 * The host objects that make up one slot's COW store.
 *
 * @param exportPath what vblade serves: the dm device or the reflink clone (never the origin)
 * @param cowStorePath the file holding the slot's writes: COW file or reflink clone
 * @param originLoop loop device of the origin, {@code null} for reflink
 * @param cowLoop loop device of the COW file, {@code null} for reflink
 * @param dmName device-mapper name, {@code null} for reflink
 */
public record CowStore(Path exportPath, Path cowStorePath, String originLoop, String cowLoop, String dmName) {
  /** A reflink store: the clone is both the COW store and the export. */
  public static CowStore clone(Path clone) {
    return new CowStore(clone, clone, null, null, null);
  }
}
