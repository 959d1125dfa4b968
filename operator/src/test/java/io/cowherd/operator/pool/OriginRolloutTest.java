package io.cowherd.operator.pool;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.SlotOrigins;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.UpdateStrategy;
import io.cowherd.operator.support.Pools;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The update strategy decides when a slot leaves the image it was built from. */
class OriginRolloutTest {
  private static final String OLD = "/srv/images/v1.img";
  private static final String NEW = "/srv/images/v2.img";

  @Test
  void aNewImageAloneMovesNoSlotUnderEitherStrategy() {
    for (UpdateStrategy strategy : UpdateStrategy.values()) {
      AoeBootPool pool = pool(strategy);
      AoeBootSlot existing = DesiredSlots.build(pool(UpdateStrategy.Manual, OLD), 0, "node-a");
      AoeBootSlot desired = DesiredSlots.build(pool, 0, "node-a");

      assertThat(OriginRollout.apply(pool, existing, desired, Optional.empty())).isEmpty();
      assertThat(desired.getSpec().getImage()).isEqualTo(OLD);
      assertThat(desired.getSpec().getPoolImage()).isEqualTo(NEW);
      assertThat(desired.getSpec().getRebuild()).isNull();
    }
  }

  @Test
  void aResetMovesTheSlotOnceUnderEitherStrategyEvenWhenNotStale() {
    AoeBootPool pool = pool(UpdateStrategy.Manual);
    AoeBootSlot existing = withReset(DesiredSlots.build(pool, 0, "node-a"), "t1");
    AoeBootSlot desired = DesiredSlots.build(pool, 0, "node-a");

    assertThat(OriginRollout.apply(pool, existing, desired, Optional.empty()))
        .contains(new OriginRollout.Move("reset-t1", "reset"));
    assertThat(desired.getSpec().getImage()).isEqualTo(NEW);
    assertThat(desired.getSpec().getRebuild()).isEqualTo("reset-t1");

    existing.getSpec().setRebuild("reset-t1"); // written: the same value does not move it again
    assertThat(OriginRollout.due(pool, existing, Optional.empty())).isEmpty();
  }

  @Test
  void onRebootMovesAStaleSlotForEachNewBootRequestAndManualNever() {
    AoeBootSlot existing = DesiredSlots.build(pool(UpdateStrategy.Manual, OLD), 0, "node-a");
    Optional<String> request = Optional.of("2026-12-02T14:00:00Z");

    assertThat(OriginRollout.due(pool(UpdateStrategy.Manual), existing, request)).isEmpty();
    assertThat(OriginRollout.due(pool(UpdateStrategy.OnReboot), existing, Optional.empty())).isEmpty();
    assertThat(OriginRollout.due(pool(UpdateStrategy.OnReboot), existing, request))
        .contains(new OriginRollout.Move("reboot-2026-12-02T14:00:00Z", "reboot"));

    existing.getSpec().setImage(NEW);
    existing.getSpec().setRebuild("reboot-2026-12-02T14:00:00Z");
    assertThat(OriginRollout.due(pool(UpdateStrategy.OnReboot), existing, request)).as("not stale").isEmpty();
  }

  @Test
  void rollbackMakesMovedSlotsStaleAndOnRebootMovesThemBackOnTheNextRequest() {
    AoeBootSlot moved = DesiredSlots.build(pool(UpdateStrategy.OnReboot), 0, "node-a");
    moved.getSpec().setRebuild("reboot-2026-12-02T14:00:00Z");
    AoeBootPool rolledBack = pool(UpdateStrategy.OnReboot, OLD);

    assertThat(OriginRollout.due(rolledBack, moved, Optional.of("2026-12-02T14:00:00Z"))).as("same request").isEmpty();
    assertThat(OriginRollout.due(rolledBack, moved, Optional.of("2026-12-02T15:00:00Z")))
        .contains(new OriginRollout.Move("reboot-2026-12-02T15:00:00Z", "reboot"));
  }

  @Test
  void aResetValueThatCannotBeATokenMovesNothingAndIsReported() {
    AoeBootPool pool = pool(UpdateStrategy.Manual);
    AoeBootSlot existing = withReset(DesiredSlots.build(pool(UpdateStrategy.Manual, OLD), 0, "node-a"), "now please");

    assertThat(OriginRollout.due(pool, existing, Optional.empty())).isEmpty();
    assertThat(OriginRollout.invalidReset(existing)).contains("now please");
    assertThat(OriginRollout.invalidReset(withReset(existing, "x".repeat(SlotOrigins.RESET_PREFIX.length() + 60))))
        .as("too long with its prefix").isPresent();
  }

  @Test
  void aRecreatedSlotIsBuiltOnTheImageItsDataWasBuiltFromOnlyOnThatNode() {
    AoeBootPool pool = pool(UpdateStrategy.Manual);
    io.cowherd.api.v1alpha1.SlotPlacement recorded = new io.cowherd.api.v1alpha1.SlotPlacement(0, "node-a");
    recorded.setImage(OLD);
    recorded.setRebuild("reset-t1");
    AoeBootSlot sameNode = DesiredSlots.build(pool, 0, "node-a");
    AoeBootSlot otherNode = DesiredSlots.build(pool, 0, "node-b");

    OriginRollout.restore(java.util.List.of(sameNode, otherNode), Map.of(0, recorded));

    assertThat(sameNode.getSpec().getImage()).isEqualTo(OLD);
    assertThat(sameNode.getSpec().getRebuild()).isEqualTo("reset-t1");
    assertThat(sameNode.getSpec().getPoolImage()).isEqualTo(NEW);
    assertThat(otherNode.getSpec().getImage()).as("no data there: the pool's image").isEqualTo(NEW);
  }

  private static AoeBootSlot withReset(AoeBootSlot slot, String value) {
    Map<String, String> annotations = new HashMap<>();
    annotations.put(SlotOrigins.RESET_ANNOTATION, value);
    slot.getMetadata().setAnnotations(annotations);
    return slot;
  }

  private static AoeBootPool pool(UpdateStrategy strategy) {
    return pool(strategy, NEW);
  }

  private static AoeBootPool pool(UpdateStrategy strategy, String image) {
    AoeBootPool pool = Pools.aPool().image(image).build();
    pool.getSpec().setUpdateStrategy(strategy);
    return pool;
  }
}
