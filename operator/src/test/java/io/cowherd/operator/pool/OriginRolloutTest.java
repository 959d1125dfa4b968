package io.cowherd.operator.pool;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.SlotOrigins;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootClientStatus;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.BootProgress;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.UpdateStrategy;
import io.cowherd.operator.support.Pools;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The update strategy decides when a slot leaves the image it was built from. */
class OriginRolloutTest {
  private static final String OLD = "/srv/images/v1.img";
  private static final String NEW = "/srv/images/v2.img";
  private static final Instant NOW = Instant.parse("2026-12-02T15:00:00Z");

  @Test
  void aNewImageAloneMovesNoSlotUnderEitherStrategy() {
    for (UpdateStrategy strategy : UpdateStrategy.values()) {
      AoeBootPool pool = pool(strategy);
      AoeBootSlot existing = DesiredSlots.build(pool(UpdateStrategy.Manual, OLD), 0, "node-a");
      AoeBootSlot desired = DesiredSlots.build(pool, 0, "node-a");

      assertThat(OriginRollout.apply(pool, existing, desired, Optional.empty(), NOW)).isEmpty();
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

    assertThat(OriginRollout.apply(pool, existing, desired, Optional.empty(), NOW))
        .contains(new OriginRollout.Move("reset-t1", "reset"));
    assertThat(desired.getSpec().getImage()).isEqualTo(NEW);
    assertThat(desired.getSpec().getRebuild()).isEqualTo("reset-t1");

    existing.getSpec().setRebuild("reset-t1"); // written: the same value does not move it again
    assertThat(OriginRollout.due(pool, existing, Optional.empty(), NOW)).isEmpty();
  }

  @Test
  void onRebootMovesAStaleSlotForEachNewBootRequestAndManualNever() {
    AoeBootSlot existing = DesiredSlots.build(pool(UpdateStrategy.Manual, OLD), 0, "node-a");
    Optional<AoeBootClient> request = client(b -> b.setUpdateRequestedAt("2026-12-02T14:00:00Z"));

    assertThat(OriginRollout.due(pool(UpdateStrategy.Manual), existing, request, NOW)).isEmpty();
    assertThat(OriginRollout.due(pool(UpdateStrategy.OnReboot), existing, Optional.empty(), NOW)).isEmpty();
    assertThat(OriginRollout.due(pool(UpdateStrategy.OnReboot), existing, request, NOW))
        .contains(new OriginRollout.Move("reboot-2026-12-02T14:00:00Z", "reboot"));

    existing.getSpec().setImage(NEW);
    existing.getSpec().setRebuild("reboot-2026-12-02T14:00:00Z");
    assertThat(OriginRollout.due(pool(UpdateStrategy.OnReboot), existing, request, NOW)).as("not stale").isEmpty();
  }

  @Test
  void rollbackMakesMovedSlotsStaleAndOnRebootMovesThemBackOnTheNextRequest() {
    AoeBootSlot moved = DesiredSlots.build(pool(UpdateStrategy.OnReboot), 0, "node-a");
    moved.getSpec().setRebuild("reboot-2026-12-02T14:00:00Z");
    AoeBootPool rolledBack = pool(UpdateStrategy.OnReboot, OLD);

    assertThat(OriginRollout.due(rolledBack, moved, client(b -> b.setUpdateRequestedAt("2026-12-02T14:00:00Z")), NOW)).as("same request").isEmpty();
    assertThat(OriginRollout.due(rolledBack, moved, client(b -> b.setUpdateRequestedAt("2026-12-02T15:00:00Z")), NOW))
        .contains(new OriginRollout.Move("reboot-2026-12-02T15:00:00Z", "reboot"));
  }

  @Test
  void aResetValueThatCannotBeATokenMovesNothingAndIsReported() {
    AoeBootPool pool = pool(UpdateStrategy.Manual);
    AoeBootSlot existing = withReset(DesiredSlots.build(pool(UpdateStrategy.Manual, OLD), 0, "node-a"), "now please");

    assertThat(OriginRollout.due(pool, existing, Optional.empty(), NOW)).isEmpty();
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

  @Test
  void aResetIsRefusedWhileTheClientIsSeenDoingIoAndStaysRefusedUntilForced() {
    AoeBootPool pool = pool(UpdateStrategy.Manual);
    AoeBootSlot existing = withReset(DesiredSlots.build(pool(UpdateStrategy.Manual, OLD), 0, "node-a"), "t1");
    Optional<AoeBootClient> writing = client(b -> b.setWritingAt(NOW.minusSeconds(5).toString()));
    Optional<AoeBootClient> silent = client(b -> {
      b.setReadingAt(NOW.minus(ClientActivity.BUSY_WINDOW).minusSeconds(1).toString());
      b.setStage("Silent");
    });

    assertThat(OriginRollout.due(pool, existing, writing, NOW)).isEmpty();
    assertThat(OriginRollout.refusal(existing, writing, NOW)).hasValueSatisfying(r -> {
      assertThat(r.value()).isEqualTo("t1");
      assertThat(r.message()).contains("pc-0 was seen writing 5 s ago").contains("status.boot.writingAt")
          .contains("kubectl annotate aoebootslot " + existing.getMetadata().getName() + " cowherd.io/reset-force=t1");
    });
    AoeBootSlot desired = DesiredSlots.build(pool, 0, "node-a");
    OriginRollout.apply(pool, existing, desired, writing, NOW);
    assertThat(desired.getMetadata().getAnnotations()).containsEntry(SlotOrigins.RESET_REFUSED_ANNOTATION, "t1");
    assertThat(desired.getSpec().getImage()).isEqualTo(OLD);

    assertThat(OriginRollout.due(pool, existing, silent, NOW)).as("silent and never refused").isPresent();
    existing.getMetadata().getAnnotations().put(SlotOrigins.RESET_REFUSED_ANNOTATION, "t1");
    assertThat(OriginRollout.due(pool, existing, silent, NOW)).as("refused once: stays refused").isEmpty();
    assertThat(OriginRollout.due(pool, existing, client(b -> b.setStage("Reading")), NOW)).as("stage Reading").isEmpty();
    // A query during a long transfer moves the recorded stage to Queried for a moment: still busy.
    Optional<AoeBootClient> queried = client(b -> {
      b.setWritingAt(NOW.minus(ClientActivity.BUSY_WINDOW).minusSeconds(300).toString());
      b.setQueriedAt(NOW.minusSeconds(2).toString());
      b.setStage("Queried");
    });
    assertThat(OriginRollout.refusal(existing, queried, NOW)).hasValueSatisfying(r ->
        assertThat(r.message()).contains("pc-0 was seen querying its target 2 s ago").contains("status.boot.queriedAt"));

    existing.getMetadata().getAnnotations().put(SlotOrigins.RESET_FORCE_ANNOTATION, "t0");
    assertThat(OriginRollout.due(pool, existing, writing, NOW)).as("a force for another value").isEmpty();
    existing.getMetadata().getAnnotations().put(SlotOrigins.RESET_FORCE_ANNOTATION, "t1");
    assertThat(OriginRollout.due(pool, existing, writing, NOW)).contains(new OriginRollout.Move("reset-t1", "forced reset"));
    assertThat(OriginRollout.refusal(existing, writing, NOW)).isEmpty();

    existing.getMetadata().getAnnotations().remove(SlotOrigins.RESET_FORCE_ANNOTATION);
    existing.getMetadata().getAnnotations().put(SlotOrigins.RESET_ANNOTATION, "t2");
    assertThat(OriginRollout.due(pool, existing, silent, NOW)).as("a new value once silent")
        .contains(new OriginRollout.Move("reset-t2", "reset"));
    assertThat(OriginRollout.due(pool, existing, Optional.empty(), NOW)).as("no client record: never seen").isPresent();
  }

  @Test
  void idlePacingMovesStaleSlotsSilentLongEnoughAtMostMaxUnavailableAtOnce() {
    AoeBootPool pool = pool(UpdateStrategy.Manual);
    pool.getSpec().setReplicas(4);
    pool.getSpec().setIdleUpdate(new io.cowherd.api.v1alpha1.IdleUpdateSpec("10m", 2));
    pool.getMetadata().setGeneration(3L);
    AoeBootPool old = pool(UpdateStrategy.Manual, OLD);
    java.util.List<AoeBootSlot> slots = java.util.List.of(DesiredSlots.build(old, 0, "node-a"),
        DesiredSlots.build(old, 1, "node-a"), DesiredSlots.build(old, 2, "node-a"), DesiredSlots.build(old, 3, "node-a"));
    Instant lastIo = NOW.minus(java.time.Duration.ofMinutes(11));
    Map<Integer, AoeBootClient> bySlot = new HashMap<>();
    bySlot.put(0, client(b -> b.setQueriedAt(NOW.minus(java.time.Duration.ofMinutes(4)).toString())).orElseThrow());
    bySlot.put(1, client(b -> b.setWritingAt(lastIo.toString())).orElseThrow());
    bySlot.put(2, client(b -> b.setReadingAt(lastIo.toString())).orElseThrow());
    bySlot.put(3, client(b -> b.setReadingAt(lastIo.toString())).orElseThrow());
    OriginRollout.Clients clients = new OriginRollout.Clients(bySlot, NOW);

    assertThat(OriginRollout.paced(pool, slots, clients)).as("slot 0 silent only 4 min; 2 at once")
        .containsOnlyKeys(1, 2)
        .containsEntry(1, new OriginRollout.Move("idle-g3-" + lastIo.getEpochSecond(), "idle for 660 s"));
    assertThat(OriginRollout.nextIdleCheck(pool, slots, clients)).contains(java.time.Duration.ofMinutes(6).plusSeconds(1));

    slots.get(1).getSpec().setImage(NEW);
    slots.get(1).getSpec().setRebuild("idle-g3-" + lastIo.getEpochSecond()); // moved, agent not done yet
    assertThat(OriginRollout.paced(pool, slots, clients)).as("one still rebuilding").containsOnlyKeys(2);
    withReset(slots.get(0), "t1");
    assertThat(OriginRollout.paced(pool, slots, clients)).as("a reset takes the other place").isEmpty();

    pool.getSpec().setIdleUpdate(null);
    assertThat(OriginRollout.paced(pool, slots, clients)).as("off").isEmpty();
    assertThat(OriginRollout.nextIdleCheck(pool, slots, clients)).isEmpty();
  }

  private static Optional<AoeBootClient> client(java.util.function.Consumer<BootProgress> boot) {
    AoeBootClient c = new AoeBootClient();
    c.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("pc-0").withNamespace("lab").build());
    AoeBootClientStatus status = new AoeBootClientStatus();
    status.setSlot(0);
    BootProgress progress = new BootProgress();
    boot.accept(progress);
    status.setBoot(progress);
    c.setStatus(status);
    return Optional.of(c);
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
