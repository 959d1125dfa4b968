package io.cowherd.agent.slot;

import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import java.util.List;
import java.util.Optional;

/**
 * Which slot objects the agent may act on. Host state is identified by (namespace, {@code
 * spec.pool}, {@code spec.slot}), not by object, so only the one object the pool made for that
 * identity may build, serve or tear it down: named {@code <spec.pool>-<spec.slot>} (names are
 * unique per namespace) and carrying a controller owner reference to the {@code AoeBootPool}
 * named {@code spec.pool}. The agent never reads the pool; the reference's uid is not checked.
 */
final class SlotOwnership {
  private static final String POOL_KIND = HasMetadata.getKind(AoeBootPool.class);
  private static final String POOL_GROUP = AoeBootPool.GROUP;

  private SlotOwnership() {}

  /**
   * Why the agent must leave {@code slot} alone, or empty if its pool made it. Pure.
   *
   * <p>Call only with a spec naming a pool and a slot (otherwise nothing can be built anyway).
   */
  static Optional<String> problem(AoeBootSlot slot) {
    String pool = slot.getSpec().getPool();
    int number = slot.getSpec().getSlot();
    String expected = Names.slotName(pool, number);
    boolean named = expected.equals(slot.getMetadata().getName());
    List<OwnerReference> refs = slot.getMetadata().getOwnerReferences();
    boolean owned = refs != null && refs.stream().anyMatch(ref -> Boolean.TRUE.equals(ref.getController())
        && POOL_KIND.equals(ref.getKind()) && pool.equals(ref.getName()) && inPoolGroup(ref.getApiVersion()));
    if (named && owned) {
      return Optional.empty();
    }
    return Optional.of("not managed by pool " + pool + ": name must be " + expected
        + " and it must be owned by that pool (this object: name " + slot.getMetadata().getName() + ", "
        + (owned ? "owned by it" : "no controller ownerReference to AoeBootPool " + pool)
        + "); nothing is exported for it, and deleting it removes nothing from the host");
  }

  /**
   * @throws UnmanagedSlotException unless the pool made {@code slot}
   */
  static void requireManaged(AoeBootSlot slot) {
    Optional<String> why = problem(slot);
    if (why.isPresent()) {
      throw new UnmanagedSlotException(why.get());
    }
  }

  private static boolean inPoolGroup(String apiVersion) {
    return apiVersion != null && apiVersion.startsWith(POOL_GROUP + "/");
  }
}
