package io.cowherd.agent.backend;

import io.cowherd.agent.host.SlotId;
import java.nio.file.Path;

/**
 * What a backend needs to build one slot's COW store.
 *
 * @param id the slot
 * @param origin real path of the validated origin image (symlinks resolved); opened read-only
 * @param sizeBytes origin size in bytes, a multiple of 512
 * @param chunkSectors dm-snapshot chunk size in 512-byte sectors (ignored by reflink)
 */
public record CowRequest(SlotId id, Path origin, long sizeBytes, int chunkSectors) {
  /** 512-byte sector. */
  public static final int SECTOR_BYTES = 512;

  public CowRequest {
    if (sizeBytes <= 0 || sizeBytes % SECTOR_BYTES != 0) {
      throw new IllegalArgumentException("origin size must be a positive multiple of 512 bytes: " + sizeBytes);
    }
  }

  /** Origin size in 512-byte sectors. */
  public long sizeSectors() {
    return sizeBytes / SECTOR_BYTES;
  }
}
