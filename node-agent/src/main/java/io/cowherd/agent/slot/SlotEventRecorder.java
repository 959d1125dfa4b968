package io.cowherd.agent.slot;

import io.cowherd.api.v1alpha1.AoeBootSlot;

/** Records Kubernetes Events on a slot. Implementations never throw: an Event is best effort. */
public interface SlotEventRecorder {
  /** Event type for healthy transitions. */
  String NORMAL = "Normal";
  /** Event type for failures. */
  String WARNING = "Warning";

  /**
   * @param type {@link #NORMAL} or {@link #WARNING}
   * @param reason one CamelCase word
   * @param message for humans
   */
  void record(AoeBootSlot slot, String type, String reason, String message);
}
