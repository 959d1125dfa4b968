package io.cowherd.operator.pool;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.SlotPlacement;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The placements ({@code status.placements}) a reconciliation should start from: the pool's, or
 * the ones this operator last wrote when the informer cache has not caught up with that write yet.
 *
 * <p>Why: a reconciliation that releases an abandoned slot writes "slot n: no node, abandoned UID
 * X" into pool status and deletes the slot; the deletion triggers the next reconciliation, which
 * can see the pool from the cache as it was before the status write and recreate slot n on the
 * abandoned node from the old record. A write is remembered with the {@code resourceVersion} of
 * the pool it was computed from; while the cache still shows that very version, the write is newer
 * than the cache and wins. Any other version means the cache has moved on (our write or a later
 * one): the pool's status is the truth again. In memory only: after a restart the operator lists
 * pools fresh from the API server, so there is nothing stale to cover.
 */
final class PlacementMemory {
  private record Written(String basedOnResourceVersion, List<SlotPlacement> placements) {}

  private final Map<String, Written> written = new ConcurrentHashMap<>();

  /** The placements to start from for {@code pool} (never null). */
  List<SlotPlacement> current(AoeBootPool pool) {
    String uid = pool.getMetadata().getUid();
    Written w = uid == null ? null : written.get(uid);
    if (w != null && Objects.equals(w.basedOnResourceVersion(), pool.getMetadata().getResourceVersion())) {
      return w.placements();
    }
    if (w != null) {
      written.remove(uid, w);
    }
    return pool.getStatus() == null || pool.getStatus().getPlacements() == null
        ? List.of() : pool.getStatus().getPlacements();
  }

  /** Remembers that {@code placements} are being written to the status of {@code pool} as seen now. */
  void written(AoeBootPool pool, List<SlotPlacement> placements) {
    if (pool.getMetadata().getUid() != null) {
      written.put(pool.getMetadata().getUid(),
          new Written(pool.getMetadata().getResourceVersion(), List.copyOf(placements)));
    }
  }

  /** Forgets {@code pool} (deleted). */
  void forget(AoeBootPool pool) {
    if (pool.getMetadata().getUid() != null) {
      written.remove(pool.getMetadata().getUid());
    }
  }
}
