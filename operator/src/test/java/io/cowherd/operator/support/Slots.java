package io.cowherd.operator.support;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.operator.pool.DesiredSlots;
import java.util.ArrayList;
import java.util.List;

/** Test builder for slot objects as the operator would have created them. */
public final class Slots {
  private final AoeBootPool pool;
  private final int slot;
  private String node = "node-a";
  private SlotPhase phase;
  private String message;
  private boolean deleting;
  private final List<String> finalizers = new ArrayList<>();

  private Slots(AoeBootPool pool, int slot) {
    this.pool = pool;
    this.slot = slot;
  }

  /** Slot {@code slot} of {@code pool}, on node-a, no status. */
  public static Slots aSlot(AoeBootPool pool, int slot) {
    return new Slots(pool, slot);
  }

  public Slots on(String value) {
    this.node = value;
    return this;
  }

  public Slots phase(SlotPhase value) {
    this.phase = value;
    return this;
  }

  public Slots failed(String why) {
    this.phase = SlotPhase.Failed;
    this.message = why;
    return this;
  }

  public Slots deleting() {
    this.deleting = true;
    return this;
  }

  public Slots finalizer(String value) {
    finalizers.add(value);
    return this;
  }

  public AoeBootSlot build() {
    AoeBootSlot built = DesiredSlots.build(pool, slot, node);
    built.getMetadata().setCreationTimestamp("2026-01-01T00:00:01Z");
    built.getMetadata().setFinalizers(new ArrayList<>(finalizers));
    if (deleting) {
      built.getMetadata().setDeletionTimestamp("2026-06-01T00:00:00Z");
    }
    AoeBootSlotStatus status = new AoeBootSlotStatus();
    status.setPhase(phase);
    status.setMessage(message);
    built.setStatus(status);
    return built;
  }
}
