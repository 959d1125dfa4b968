package io.cowherd.api.v1alpha1;

/**
 * How the slots of a pool move to a new {@code spec.image} ({@code spec.updateStrategy}). Every
 * slot keeps serving the origin it was built from until it is moved; moving a slot rebuilds it on
 * the pool's image and discards its COW data (the client's writes stay with the old image). A
 * reset ({@link io.cowherd.api.SlotOrigins#RESET_ANNOTATION}) moves one slot under either strategy.
 */
public enum UpdateStrategy {
  /** Only an explicit reset moves a slot. */
  Manual,
  /**
   * A stale slot is also moved when its client asks a boot endpoint for its boot script (any
   * reboot, a crash too), before the script is answered.
   */
  OnReboot
}
