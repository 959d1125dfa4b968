package io.cowherd.operator.status;

import static io.cowherd.operator.support.Pools.aPool;
import static io.cowherd.operator.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootPoolStatus;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PoolStatusAggregatorTest {
  private static final Instant T0 = Instant.parse("2026-03-01T10:00:00.123Z");
  private static final Instant T1 = Instant.parse("2026-03-01T11:00:00Z");
  private static final Set<String> READY = Set.of("node-a", "node-b");

  private static AoeBootPoolStatus aggregate(AoeBootPool pool, List<AoeBootSlot> slots) {
    return PoolStatusAggregator.aggregate(pool, slots, READY, SlotProgress.none(), "", T0);
  }

  private static Condition condition(AoeBootPoolStatus status, String type) {
    return Conditions.find(status.getConditions(), type).orElseThrow();
  }

  private static List<AoeBootSlot> serving(AoeBootPool pool, int count) {
    return java.util.stream.IntStream.range(0, count).mapToObj(n -> aSlot(pool, n).phase(SlotPhase.Serving).build()).toList();
  }

  @Test
  void allSlotsServingMakesPoolReady() {
    AoeBootPool pool = aPool().replicas(2).generation(4).build();

    AoeBootPoolStatus status = aggregate(pool, serving(pool, 2));

    assertThat(status.getObservedGeneration()).isEqualTo(4L);
    assertThat(status.getReplicas()).isEqualTo(2);
    assertThat(status.getReadyReplicas()).isEqualTo(2);
    assertThat(status.getSelector()).isEqualTo("cowherd.io/pool=boot");
    assertThat(status.getConditions()).extracting(Condition::getType).containsExactly("Ready", "Progressing", "Degraded", "Conflict");
    Condition ready = condition(status, "Ready");
    assertThat(ready.getStatus()).isEqualTo("True");
    assertThat(ready.getReason()).isEqualTo("AllSlotsServing");
    assertThat(ready.getObservedGeneration()).isEqualTo(4L);
    assertThat(ready.getLastTransitionTime()).isEqualTo("2026-03-01T10:00:00Z");
    assertThat(condition(status, "Progressing").getReason()).isEqualTo("SlotsSettled");
    assertThat(condition(status, "Degraded").getStatus()).isEqualTo("False");
    assertThat(condition(status, "Conflict").getReason()).isEqualTo("NoConflict");
  }

  @Test
  void zeroReplicasWithoutSlotsIsReady() {
    assertThat(condition(aggregate(aPool().replicas(0).build(), List.of()), "Ready").getStatus()).isEqualTo("True");
  }

  @Test
  void slotsNotYetServedAreProvisioning() {
    AoeBootPool pool = aPool().replicas(2).build();
    List<AoeBootSlot> slots = List.of(aSlot(pool, 0).phase(SlotPhase.Serving).build(), aSlot(pool, 1).phase(SlotPhase.Provisioning).build());

    AoeBootPoolStatus status = aggregate(pool, slots);

    assertThat(status.getReadyReplicas()).isEqualTo(1);
    assertThat(condition(status, "Ready").getReason()).isEqualTo("SlotsNotServing");
    assertThat(condition(status, "Ready").getMessage()).isEqualTo("1/2 slots served, 2 slot objects");
    assertThat(condition(status, "Progressing").getStatus()).isEqualTo("True");
    assertThat(condition(status, "Progressing").getReason()).isEqualTo("SlotsProvisioning");
    assertThat(condition(status, "Progressing").getMessage()).contains("boot-1");
  }

  @Test
  void slotWithoutStatusCountsAsNotServed() {
    AoeBootPool pool = aPool().replicas(1).build();

    assertThat(aggregate(pool, List.of(aSlot(pool, 0).build())).getReadyReplicas()).isZero();
  }

  @Test
  void extraSlotsDuringScaleDownKeepPoolNotReady() {
    AoeBootPool pool = aPool().replicas(1).build();

    AoeBootPoolStatus status = aggregate(pool, serving(pool, 3));

    assertThat(status.getReplicas()).isEqualTo(3);
    assertThat(condition(status, "Ready").getStatus()).isEqualTo("False");
  }

  @Test
  void failedSlotDegradesPoolWithItsMessage() {
    AoeBootPool pool = aPool().replicas(2).build();
    List<AoeBootSlot> slots = List.of(aSlot(pool, 0).phase(SlotPhase.Serving).build(),
        aSlot(pool, 1).failed("image /srv/images/origin.img is not under an allowed image root").build());

    Condition degraded = condition(aggregate(pool, slots), "Degraded");

    assertThat(degraded.getStatus()).isEqualTo("True");
    assertThat(degraded.getReason()).isEqualTo("SlotFailed");
    assertThat(degraded.getMessage()).isEqualTo("boot-1 (e7.1): image /srv/images/origin.img is not under an allowed image root");
  }

  @Test
  void servingSlotOnNotReadyNodeIsNotCountedAndDegrades() {
    AoeBootPool pool = aPool().replicas(1).build();
    List<AoeBootSlot> slots = List.of(aSlot(pool, 0).on("node-down").phase(SlotPhase.Serving).build());

    AoeBootPoolStatus status = aggregate(pool, slots);

    assertThat(status.getReadyReplicas()).isZero();
    assertThat(condition(status, "Degraded").getReason()).isEqualTo("NodeNotReady");
    assertThat(condition(status, "Degraded").getMessage()).isEqualTo("boot-0 (e7.0): node node-down is not Ready");
  }

  @Test
  void conflictMakesPoolNotReadyAndSaysWhy() {
    AoeBootPool pool = aPool().replicas(1).build();

    AoeBootPoolStatus status = PoolStatusAggregator.aggregate(pool, serving(pool, 1), READY, SlotProgress.none(),
        "target e7.0 is claimed by older pool default/other", T0);

    assertThat(condition(status, "Ready").getReason()).isEqualTo("TargetConflict");
    Condition conflict = condition(status, "Conflict");
    assertThat(conflict.getStatus()).isEqualTo("True");
    assertThat(conflict.getReason()).isEqualTo("TargetConflict");
    assertThat(conflict.getMessage()).isEqualTo("target e7.0 is claimed by older pool default/other");
  }

  @Test
  void unplacedSlotsReportNoEligibleNode() {
    AoeBootPool pool = aPool().replicas(2).build();
    SlotProgress progress = new SlotProgress(0, 0, 0, 0, 0, List.of(0, 1), "1 node: 1 not Ready (n1)");

    Condition progressing = condition(PoolStatusAggregator.aggregate(pool, List.of(), READY, progress, "", T0), "Progressing");

    assertThat(progressing.getStatus()).isEqualTo("True");
    assertThat(progressing.getReason()).isEqualTo("NoEligibleNode");
    assertThat(progressing.getMessage()).isEqualTo("slots 0, 1 not created: no eligible node (1 node: 1 not Ready (n1))");
  }

  @Test
  void writesMadeThisRoundReportSlotsChanging() {
    AoeBootPool pool = aPool().replicas(1).build();
    SlotProgress progress = new SlotProgress(1, 0, 2, 0, 1, List.of(), "");

    Condition progressing = condition(PoolStatusAggregator.aggregate(pool, List.of(), READY, progress, "", T0), "Progressing");

    assertThat(progressing.getReason()).isEqualTo("SlotsChanging");
    assertThat(progressing.getMessage()).isEqualTo("created 1, updated 0, deleted 2, released 0 slots; 1 slots terminating");
  }

  @Test
  void unchangedConditionKeepsItsTransitionTime() {
    AoeBootPool pool = aPool().replicas(1).build();
    AoeBootPoolStatus first = aggregate(pool, serving(pool, 1));
    AoeBootPool again = aPool().replicas(1).status(first).build();

    AoeBootPoolStatus second = PoolStatusAggregator.aggregate(again, serving(again, 1), READY, SlotProgress.none(), "", T1);

    assertThat(condition(second, "Ready").getLastTransitionTime()).isEqualTo("2026-03-01T10:00:00Z");
    assertThat(PoolStatusAggregator.same(first, second)).isTrue();
  }

  @Test
  void flippedConditionGetsNewTransitionTime() {
    AoeBootPool pool = aPool().replicas(1).build();
    AoeBootPoolStatus first = aggregate(pool, serving(pool, 1));
    AoeBootPool again = aPool().replicas(1).status(first).build();

    AoeBootPoolStatus second = PoolStatusAggregator.aggregate(again, List.of(aSlot(again, 0).failed("boom").build()), READY,
        SlotProgress.none(), "", T1);

    assertThat(condition(second, "Ready").getLastTransitionTime()).isEqualTo("2026-03-01T11:00:00Z");
    assertThat(condition(second, "Conflict").getLastTransitionTime()).isEqualTo("2026-03-01T10:00:00Z");
    assertThat(PoolStatusAggregator.same(first, second)).isFalse();
  }

  @Test
  void errorStatusDegradesWithReasonAndKeepsCounts() {
    AoeBootPool pool = aPool().replicas(2).build();
    AoeBootPool withStatus = aPool().replicas(2).status(aggregate(pool, serving(pool, 2))).build();

    AoeBootPoolStatus status = PoolStatusAggregator.withError(withStatus, "SlotWriteFailed", "create slot default/boot-1 failed: 403", T1);

    assertThat(status.getReadyReplicas()).isEqualTo(2);
    assertThat(condition(status, "Ready").getStatus()).isEqualTo("False");
    assertThat(condition(status, "Ready").getReason()).isEqualTo("SlotWriteFailed");
    assertThat(condition(status, "Degraded").getStatus()).isEqualTo("True");
    assertThat(condition(status, "Degraded").getMessage()).isEqualTo("create slot default/boot-1 failed: 403");
    assertThat(condition(status, "Conflict").getReason()).isEqualTo("NoConflict");
  }
}
