package io.cowherd.agent.backend;

/** How full a slot's COW store is, or why it cannot say. */
public sealed interface CowUsage {
  /**
   * Usage of a working store.
   *
   * @param usedSectors 512-byte sectors holding the slot's own data (and dm metadata)
   * @param totalSectors capacity in 512-byte sectors
   */
  record Sectors(long usedSectors, long totalSectors) implements CowUsage {}

  /**
   * The store no longer serves data (dm-snapshot {@code Invalid} or {@code Overflow}).
   *
   * @param reason what the kernel reported
   */
  record Broken(String reason) implements CowUsage {}
}
