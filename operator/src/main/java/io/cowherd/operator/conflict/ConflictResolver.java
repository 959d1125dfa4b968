package io.cowherd.operator.conflict;

import java.util.Collection;
import java.util.Comparator;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Decides which of a pool's targets another pool keeps. Pure.
 *
 * <p>Targets {@code e<shelf>.<slot>} must be unique cluster-wide: two exporters of one target on a
 * segment corrupt client data silently, and the operator cannot know L2 segments, so every
 * namespace counts. For each slot number of the pool:
 *
 * <ol>
 *   <li>a target held by an existing slot object of another pool stays with that pool;
 *   <li>else a target held by one of the pool's own slot objects stays with the pool;
 *   <li>else, if an older pool (creation time, then namespace/name) wants it, the older one wins.
 * </ol>
 *
 * The loser does not create (or re-target) that slot; existing slots are never deleted for it.
 */
public final class ConflictResolver {
  private static final Comparator<HeldTarget> HOLDER_ORDER =
      Comparator.comparing(HeldTarget::namespace).thenComparing(HeldTarget::pool);

  private ConflictResolver() {}

  /**
   * Finds, for each slot number {@code 0..replicas-1} of {@code self}, the pool that keeps its
   * target, if any.
   *
   * @param self the pool being reconciled
   * @param pools every pool in the cluster (may include {@code self}, which is skipped)
   * @param held targets of every existing slot object in the cluster
   * @return the slot numbers of {@code self} that another pool keeps
   */
  public static ConflictReport resolve(PoolClaim self, Collection<PoolClaim> pools, Collection<HeldTarget> held) {
    TreeMap<Integer, Rival> blocked = new TreeMap<>();
    for (int slot = 0; slot < self.replicas(); slot++) {
      final int number = slot;
      rivalFor(self, number, pools, held).ifPresent(rival -> blocked.put(number, rival));
    }
    return new ConflictReport(self.shelf(), blocked);
  }

  private static Optional<Rival> rivalFor(
      PoolClaim self, int slot, Collection<PoolClaim> pools, Collection<HeldTarget> held) {
    Optional<HeldTarget> otherHolder = held.stream()
        .filter(h -> h.shelf() == self.shelf() && h.slot() == slot)
        .filter(h -> !h.isOfPool(self.namespace(), self.name()))
        .min(HOLDER_ORDER);
    if (otherHolder.isPresent()) {
      return Optional.of(new Rival(otherHolder.get().poolRef(), true));
    }
    boolean selfHolds = held.stream()
        .anyMatch(h -> h.shelf() == self.shelf() && h.slot() == slot && h.isOfPool(self.namespace(), self.name()));
    if (selfHolds) {
      return Optional.empty();
    }
    return pools.stream()
        .filter(p -> !p.isPool(self.namespace(), self.name()))
        .filter(p -> p.wants(self.shelf(), slot))
        .filter(p -> PoolClaim.AGE_ORDER.compare(p, self) < 0)
        .min(PoolClaim.AGE_ORDER)
        .map(p -> new Rival(p.ref(), false));
  }
}
