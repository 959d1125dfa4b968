package io.cowherd.api.v1alpha1;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.Objects;

/** How each slot keeps its writes (the COW store). */
public class CowSpec {
  /** Default dm-snapshot chunk size, in 512-byte sectors (dm-snapshot's own default). */
  public static final int DEFAULT_CHUNK_SECTORS = 64;

  /** COW backend: dm-snapshot (default; loop + device-mapper snapshot) or reflink (FICLONE clone on btrfs/XFS). */
  @Default("dm-snapshot")
  private CowBackend backend = CowBackend.DM_SNAPSHOT;

  /** dm-snapshot chunk size in 512-byte sectors: a power of two from 8 to 1024. */
  @Default("64")
  @ValidationRule(
      value = "self in [8, 16, 32, 64, 128, 256, 512, 1024]",
      message = "chunkSectors must be a power of two from 8 to 1024 (512-byte sectors)")
  private Integer chunkSectors = DEFAULT_CHUNK_SECTORS;

  public CowSpec() {}

  public CowSpec(CowBackend backend, Integer chunkSectors) {
    this.backend = backend;
    this.chunkSectors = chunkSectors;
  }

  public CowBackend getBackend() {
    return backend;
  }

  public void setBackend(CowBackend backend) {
    this.backend = backend;
  }

  public Integer getChunkSectors() {
    return chunkSectors;
  }

  public void setChunkSectors(Integer chunkSectors) {
    this.chunkSectors = chunkSectors;
  }

  /** The backend, or the default when unset. */
  public CowBackend backendOrDefault() {
    return backend == null ? CowBackend.DM_SNAPSHOT : backend;
  }

  /** The chunk size in 512-byte sectors, or the default when unset. */
  public int chunkSectorsOrDefault() {
    return chunkSectors == null ? DEFAULT_CHUNK_SECTORS : chunkSectors;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CowSpec c && backend == c.backend && Objects.equals(chunkSectors, c.chunkSectors);
  }

  @Override
  public int hashCode() {
    return Objects.hash(backend, chunkSectors);
  }

  @Override
  public String toString() {
    return "CowSpec{backend=" + backend + ", chunkSectors=" + chunkSectors + "}";
  }
}
