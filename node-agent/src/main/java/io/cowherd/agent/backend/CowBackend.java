package io.cowherd.agent.backend;

import io.cowherd.agent.host.SlotId;
import java.nio.file.Path;
import java.util.Optional;

/**
 * One way to give a slot its own writable layer over the read-only origin. Every method is
 * idempotent and re-checks the host before acting, so a crash at any point is repaired by calling
 * it again. No method ever writes the origin, and only {@link #removeCowStore} (and {@link
 * #teardown}, which calls it) removes COW data: only for a slot the operator deleted with the
 * reclaim mark {@code Delete} (the rule is {@code SlotReclaim} in the crds module).
 */
public interface CowBackend {
  /** The backend's API name: {@code dm-snapshot} or {@code reflink}. */
  String name();

  /**
   * Checks that this backend can work for {@code request} on this node. Reads the host only.
   *
   * @throws BackendUnavailableException if it cannot (message says why and what to do)
   */
  void checkAvailable(CowRequest request);

  /**
   * The complete COW store of {@code request}'s slot, if one exists. Reads the host only.
   *
   * @throws HostConflictException if a host object with this slot's name belongs to someone else
   */
  Optional<CowStore> find(CowRequest request);

  /**
   * Makes the COW store exist, reusing everything already there (an existing store holds the
   * client's writes and is never recreated).
   *
   * @return the store, ready to export
   * @throws BackendUnavailableException if the node cannot do it (nothing left behind)
   * @throws InsufficientSpaceException if the store's space cannot be reserved (checked before any
   *     host change; a partial file is removed)
   * @throws io.cowherd.agent.host.CommandFailedException if a host command fails
   */
  CowStore provision(CowRequest request);

  /**
   * Makes sure an existing {@code store} holds its whole space reservation (a store made by an
   * older agent may be sparse): reserves what is missing, without changing any data. Cheap after
   * the first success in this agent's life.
   *
   * @return why the reservation is incomplete, if it is (the store keeps serving)
   * @throws io.cowherd.agent.host.CommandFailedException if a host command fails otherwise
   */
  default Optional<String> reserve(CowStore store, CowRequest request) {
    return Optional.empty();
  }

  /**
   * Current usage of {@code store}.
   *
   * @throws io.cowherd.agent.host.CommandFailedException if a host command fails
   */
  CowUsage usage(CowStore store);

  /**
   * Removes the host objects of slot {@code id} that hold no data (devices, loops, an interrupted
   * partial store) and keeps its COW store, so {@link #provision} can serve it again later.
   * Called after its exporter stopped, for a slot deleted with reclaim mark {@code Retain}.
   *
   * @param originHint the origin the slot was built from, if known, to release shared objects
   *     (the dm-snapshot origin loop) when no other slot uses them
   * @throws TeardownIncompleteException if something is still busy; call again later
   * @throws io.cowherd.agent.host.CommandFailedException if a host command fails
   */
  void detach(SlotId id, Optional<Path> originHint);

  /**
   * Deletes slot {@code id}'s COW store (the client's data) and its pool directory when empty.
   * Call only after {@link #detach}.
   */
  void removeCowStore(SlotId id);

  /**
   * Removes every host object of slot {@code id}, including its COW data: {@link #detach}, then
   * {@link #removeCowStore}. Called only for a slot deleted with reclaim mark {@code Delete}, after
   * its exporter stopped.
   *
   * @throws TeardownIncompleteException if something is still busy; call again later
   * @throws io.cowherd.agent.host.CommandFailedException if a host command fails
   */
  default void teardown(SlotId id, Optional<Path> originHint) {
    detach(id, originHint);
    removeCowStore(id);
  }

  /**
   * Copies {@code store}'s whole disk as its client sees it (origin plus COW data, {@code
   * sizeBytes} bytes) into {@code dest}, which must not exist, and forces it to disk. The default
   * reads the export ({@link DiskCopy#sparseCopy}); the caller keeps the exporter stopped while it
   * runs when {@link #copyNeedsStoppedExporter} says so.
   *
   * @throws java.io.UncheckedIOException when the copy fails (a partial {@code dest} may remain)
   */
  default void copyDisk(CowStore store, Path dest, long sizeBytes) {
    DiskCopy.sparseCopy(store.exportPath(), dest, sizeBytes);
  }

  /**
   * Whether writes through the exporter could change the disk while {@link #copyDisk} runs, so the
   * exporter must be stopped for a consistent copy. True unless the backend copies atomically.
   */
  default boolean copyNeedsStoppedExporter() {
    return true;
  }
}
