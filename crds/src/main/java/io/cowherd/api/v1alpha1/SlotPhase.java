package io.cowherd.api.v1alpha1;

/** Lifecycle phase of one slot as last observed by its node agent. */
public enum SlotPhase {
  /** Not yet picked up by the agent of its node. */
  Pending,
  /** The agent is building the COW store, devices or exporter. */
  Provisioning,
  /** The exporter (vblade) is running and serving the target. */
  Serving,
  /** The slot cannot be served; {@code status.message} says why. No COW data was removed. */
  Failed,
  /** The slot is being deleted; the agent is tearing down its host objects. */
  Terminating,
  /** The agent cannot tell (for example its node is gone). */
  Unknown
}
