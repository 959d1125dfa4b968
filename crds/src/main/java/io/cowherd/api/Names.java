package io.cowherd.api;

import io.cowherd.api.v1alpha1.AoeBootPool;
import java.util.Map;

/**
 * Names and labels shared by operator and node agent. Pure functions; the single source of slot
 * names, target names, labels and the finalizer.
 */
public final class Names {
  /** Label on a slot naming its pool. */
  public static final String POOL_LABEL = AoeBootPool.GROUP + "/pool";
  /** Label on a slot naming its node; the agent watches only slots with its own node here. */
  public static final String NODE_LABEL = AoeBootPool.GROUP + "/node";
  /** Label on a slot giving its slot number. */
  public static final String SLOT_LABEL = AoeBootPool.GROUP + "/slot";
  /** Label marking objects managed by cowherd. */
  public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
  /** Value of {@link #MANAGED_BY_LABEL}. */
  public static final String MANAGED_BY = "cowherd";
  /** Finalizer the node agent puts on each slot until its host objects are gone. */
  public static final String SLOT_FINALIZER = AoeBootPool.GROUP + "/host-cleanup";

  private Names() {}

  /** Slot object name: {@code <pool>-<slot>}. */
  public static String slotName(String pool, int slot) {
    return pool + "-" + slot;
  }

  /** Target name in AoE notation: {@code e<shelf>.<slot>} (AoE spec rev 11, 3.1: major.minor). */
  public static String target(int shelf, int slot) {
    return "e" + shelf + "." + slot;
  }

  /** Labels on every slot of {@code pool} placed on {@code node}. */
  public static Map<String, String> slotLabels(String pool, int slot, String node) {
    return Map.of(
        POOL_LABEL, pool,
        SLOT_LABEL, Integer.toString(slot),
        NODE_LABEL, node,
        MANAGED_BY_LABEL, MANAGED_BY);
  }

  /** Label selector string matching every slot of {@code pool}. */
  public static String poolSelector(String pool) {
    return POOL_LABEL + "=" + pool;
  }
}
