package io.cowherd.operator.conflict;

import io.cowherd.api.v1alpha1.AoeBootPool;
import java.time.Instant;
import java.util.Comparator;

/**
 * A pool's claim on targets {@code e<shelf>.0 .. e<shelf>.<replicas-1>}.
 *
 * @param namespace namespace of the pool
 * @param name name of the pool
 * @param createdAt the pool's {@code metadata.creationTimestamp}; null sorts as newest
 * @param shelf the pool's {@code spec.shelf}
 * @param replicas the pool's {@code spec.replicas}
 * @param deleting true when the pool is being deleted: it then claims no new targets (its existing
 *     slots still hold theirs until they are gone)
 */
public record PoolClaim(String namespace, String name, Instant createdAt, int shelf, int replicas, boolean deleting) {
  /** Oldest first: creation time, then namespace, then name. Total and deterministic. */
  public static final Comparator<PoolClaim> AGE_ORDER = Comparator
      .comparing(PoolClaim::createdAt, Comparator.nullsLast(Comparator.naturalOrder()))
      .thenComparing(PoolClaim::namespace)
      .thenComparing(PoolClaim::name);

  /** The claim of {@code pool}: its shelf and replicas, creation time and deletion state. */
  public static PoolClaim of(AoeBootPool pool) {
    String created = pool.getMetadata().getCreationTimestamp();
    Integer shelf = pool.getSpec() == null ? null : pool.getSpec().getShelf();
    return new PoolClaim(
        pool.getMetadata().getNamespace(),
        pool.getMetadata().getName(),
        created == null ? null : Instant.parse(created),
        shelf == null ? -1 : shelf,
        pool.getSpec() == null ? 0 : pool.getSpec().replicasOrZero(),
        pool.getMetadata().getDeletionTimestamp() != null);
  }

  /** True when this claim belongs to pool {@code namespace/name}. */
  public boolean isPool(String otherNamespace, String otherName) {
    return namespace.equals(otherNamespace) && name.equals(otherName);
  }

  /** True when this pool wants target {@code e<shelf>.<slot>}. */
  public boolean wants(int targetShelf, int slot) {
    return !deleting && shelf == targetShelf && slot >= 0 && slot < replicas;
  }

  /** {@code namespace/name}. */
  public String ref() {
    return namespace + "/" + name;
  }
}
