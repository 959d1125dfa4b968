package io.cowherd.agent.boot;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.support.Slots;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootClientStatus;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootPoolSpec;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.BootProgress;
import io.cowherd.api.v1alpha1.SlotOrigin;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.api.v1alpha1.UpdateStrategy;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which boot scripts wait for a slot to move to its pool's image. */
class StaleSlotGateTest {
  private static final String V1 = "/srv/images/v1.img";
  private static final String V2 = "/srv/images/v2.img";
  private static final Instant NOW = Instant.parse("2026-12-02T14:00:00Z");

  @Test
  void aStaleSlotUnderOnRebootIsHeldAndRequestedOnceUntilTheRequestAges() {
    AoeBootSlot slot = slot(V1, null);
    AoeBootClient fresh = client(null);

    assertThat(StaleSlotGate.check(pool(UpdateStrategy.OnReboot), Optional.of(slot), fresh, NOW))
        .hasValueSatisfying(v -> {
          assertThat(v.requestUpdate()).isTrue();
          assertThat(v.message()).contains(V2).contains("writes stay with the old image " + V1);
        });
    AoeBootClient requested = client("2026-12-02T13:59:58Z");
    assertThat(StaleSlotGate.check(pool(UpdateStrategy.OnReboot), Optional.of(slot), requested, NOW))
        .as("a pending request is not repeated at once").hasValueSatisfying(v -> assertThat(v.requestUpdate()).isFalse());
    assertThat(StaleSlotGate.check(pool(UpdateStrategy.OnReboot), Optional.of(slot), requested, NOW.plusSeconds(62)))
        .hasValueSatisfying(v -> assertThat(v.requestUpdate()).isTrue());
  }

  @Test
  void aStaleSlotUnderManualBootsItsOldImage() {
    assertThat(StaleSlotGate.check(pool(UpdateStrategy.Manual), Optional.of(slot(V1, null)), client(null), NOW)).isEmpty();
  }

  @Test
  void aMovedSlotIsHeldUntilItsAgentServesTheRebuild() {
    AoeBootSlot moved = slot(V2, "reboot-2026-12-02T13:59:58Z");
    assertThat(StaleSlotGate.check(pool(UpdateStrategy.OnReboot), Optional.of(moved), client("2026-12-02T13:59:58Z"), NOW))
        .hasValueSatisfying(v -> {
          assertThat(v.requestUpdate()).isFalse();
          assertThat(v.message()).contains("is being rebuilt on " + V2);
        });

    AoeBootSlotStatus status = new AoeBootSlotStatus();
    status.setPhase(SlotPhase.Serving);
    status.setObservedGeneration(moved.getMetadata().getGeneration());
    SlotOrigin origin = new SlotOrigin(V2, "dev=1 ino=2 size=3 ctime=4.5", false, null);
    origin.setRebuild("reboot-2026-12-02T13:59:58Z");
    status.setOrigin(origin);
    moved.setStatus(status);
    assertThat(StaleSlotGate.check(pool(UpdateStrategy.OnReboot), Optional.of(moved), client("2026-12-02T13:59:58Z"), NOW))
        .isEmpty();
    status.setPhase(SlotPhase.Failed); // e.g. its COW store filled up later: boots as before, not held
    assertThat(StaleSlotGate.check(pool(UpdateStrategy.OnReboot), Optional.of(moved), client("2026-12-02T13:59:58Z"), NOW))
        .isEmpty();
    moved.getMetadata().setGeneration(5L); // a spec change its agent has not seen yet
    assertThat(StaleSlotGate.check(pool(UpdateStrategy.OnReboot), Optional.of(moved), client("2026-12-02T13:59:58Z"), NOW))
        .isPresent();
  }

  @Test
  void aSlotNotKnownHereBootsAsBefore() {
    assertThat(StaleSlotGate.check(pool(UpdateStrategy.OnReboot), Optional.empty(), client(null), NOW)).isEmpty();
  }

  private static AoeBootSlot slot(String image, String rebuild) {
    AoeBootSlot slot = Slots.aSlot().image(image).generation(4).build();
    slot.getSpec().setPoolImage(V2);
    slot.getSpec().setRebuild(rebuild);
    return slot;
  }

  private static AoeBootPool pool(UpdateStrategy strategy) {
    AoeBootPool pool = new AoeBootPool();
    AoeBootPoolSpec spec = new AoeBootPoolSpec();
    spec.setImage(V2);
    spec.setUpdateStrategy(strategy);
    pool.setSpec(spec);
    return pool;
  }

  private static AoeBootClient client(String updateRequestedAt) {
    AoeBootClient client = new AoeBootClient();
    AoeBootClientStatus status = new AoeBootClientStatus();
    BootProgress boot = new BootProgress();
    boot.setUpdateRequestedAt(updateRequestedAt);
    status.setBoot(boot);
    client.setStatus(status);
    return client;
  }
}
