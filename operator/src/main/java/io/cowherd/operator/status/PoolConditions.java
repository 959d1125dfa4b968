package io.cowherd.operator.status;

/**
 * Condition types and reasons of {@code AoeBootPool.status.conditions}. The reasons are part of the
 * API: users, alerts and tests match on them.
 */
public final class PoolConditions {
  /** True when every desired slot exists and is served, and no target conflicts. */
  public static final String READY = "Ready";
  /** True while slots are created, changed or deleted, or not yet served. */
  public static final String PROGRESSING = "Progressing";
  /** True when a slot failed, sits on a Node that is not Ready, or reconciliation failed. */
  public static final String DEGRADED = "Degraded";
  /** True when another pool keeps some of this pool's targets. */
  public static final String CONFLICT = "Conflict";

  /** Ready=True: every desired slot is served. */
  public static final String ALL_SLOTS_SERVING = "AllSlotsServing";
  /** Ready=False: fewer slots served than desired, or extra slots still exist. */
  public static final String SLOTS_NOT_SERVING = "SlotsNotServing";
  /** Ready=False and Conflict=True: another pool keeps some targets. */
  public static final String TARGET_CONFLICT = "TargetConflict";
  /** Conflict=False. */
  public static final String NO_CONFLICT = "NoConflict";
  /** Progressing=True: a missing slot cannot be placed because no Node is eligible. */
  public static final String NO_ELIGIBLE_NODE = "NoEligibleNode";
  /** Progressing=True: slots were created, updated or deleted, or are terminating. */
  public static final String SLOTS_CHANGING = "SlotsChanging";
  /** Progressing=True: slots exist but their agents do not serve them yet. */
  public static final String SLOTS_PROVISIONING = "SlotsProvisioning";
  /**
   * Progressing=True on a deleted pool, and a Warning Event: slots wait for node agents that are
   * silent (no heartbeat) to tear them down; the message names the nodes.
   */
  public static final String AGENT_SILENT = "AgentSilent";
  /** Progressing=False: nothing left to do. */
  public static final String SLOTS_SETTLED = "SlotsSettled";
  /** Degraded=True: at least one slot is in phase Failed. */
  public static final String SLOT_FAILED = "SlotFailed";
  /** Degraded=True: no slot failed, but some sit on Nodes that are not Ready. */
  public static final String NODE_NOT_READY = "NodeNotReady";
  /** Degraded=False. */
  public static final String SLOTS_HEALTHY = "SlotsHealthy";
  /** Degraded=True and Ready=False: reconciliation failed with an unexpected error. */
  public static final String RECONCILE_ERROR = "ReconcileError";

  private PoolConditions() {}
}
