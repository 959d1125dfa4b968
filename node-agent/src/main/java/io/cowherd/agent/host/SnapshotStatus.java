package io.cowherd.agent.host;

/**
 * Status of a dm {@code snapshot} target as {@code dmsetup status} prints it (kernel
 * Documentation/admin-guide/device-mapper/snapshot.rst): either usage, or a state in which the
 * snapshot no longer serves data.
 */
public sealed interface SnapshotStatus {
  /**
   * The snapshot works.
   *
   * @param allocatedSectors COW store sectors in use (data and metadata), 512-byte sectors
   * @param totalSectors COW store capacity, 512-byte sectors
   * @param metadataSectors sectors of {@code allocatedSectors} holding metadata
   */
  record Active(long allocatedSectors, long totalSectors, long metadataSectors) implements SnapshotStatus {}

  /**
   * The snapshot is unusable: {@code Invalid} (COW store full or I/O error), {@code Overflow},
   * {@code Merge failed} or {@code Unknown}.
   *
   * @param state the word the kernel printed
   */
  record Broken(String state) implements SnapshotStatus {}
}
