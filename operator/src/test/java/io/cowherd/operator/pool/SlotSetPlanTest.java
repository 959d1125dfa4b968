package io.cowherd.operator.pool;

import static io.cowherd.operator.support.Pools.aPool;
import static io.cowherd.operator.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.Names;
import io.cowherd.api.SlotReclaim;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.ReclaimPolicy;
import io.cowherd.api.v1alpha1.SlotPlacement;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SlotSetPlanTest {
  private static final Set<String> NODES = Set.of("node-a", "node-b");
  private static final List<String> ELIGIBLE = List.of("node-a", "node-b");

  private static SlotSetPlan decide(AoeBootPool pool, List<AoeBootSlot> own) {
    return SlotSetPlan.decide(pool, own, NODES, ELIGIBLE, Map.of(), Set.of());
  }

  private static List<String> names(List<AoeBootSlot> slots) {
    return slots.stream().map(s -> s.getMetadata().getName()).toList();
  }

  @Test
  void newPoolCreatesSlotsZeroToReplicasMinusOneSpreadOverNodes() {
    AoeBootPool pool = aPool().replicas(3).build();

    SlotSetPlan plan = decide(pool, List.of());

    assertThat(names(plan.creates())).containsExactly("boot-0", "boot-1", "boot-2");
    assertThat(plan.creates()).extracting(s -> s.getSpec().getNodeName()).containsExactly("node-a", "node-b", "node-a");
    assertThat(plan.updates()).isEmpty();
    assertThat(plan.deletes()).isEmpty();
  }

  @Test
  void createdSlotCopiesPoolSpecLabelsAndOwner() {
    AoeBootPool pool = aPool().shelf(9).replicas(1).image("/img/o.img").iface("enp3s0").cow(CowBackend.REFLINK, 128).build();

    AoeBootSlot slot = decide(pool, List.of()).creates().getFirst();

    assertThat(slot.getMetadata().getNamespace()).isEqualTo("default");
    assertThat(slot.getSpec().getPool()).isEqualTo("boot");
    assertThat(slot.getSpec().getShelf()).isEqualTo(9);
    assertThat(slot.getSpec().getSlot()).isZero();
    assertThat(slot.getSpec().getImage()).isEqualTo("/img/o.img");
    assertThat(slot.getSpec().getInterface()).isEqualTo("enp3s0");
    assertThat(slot.getSpec().getCow().getBackend()).isEqualTo(CowBackend.REFLINK);
    assertThat(slot.getSpec().getCow().getChunkSectors()).isEqualTo(128);
    assertThat(slot.getMetadata().getLabels()).isEqualTo(Names.slotLabels("boot", 0, "node-a"));
    var owner = slot.getMetadata().getOwnerReferences().getFirst();
    assertThat(owner.getKind()).isEqualTo("AoeBootPool");
    assertThat(owner.getApiVersion()).isEqualTo("cowherd.io/v1alpha1");
    assertThat(owner.getUid()).isEqualTo("uid-boot");
    assertThat(owner.getController()).isTrue();
    assertThat(owner.getBlockOwnerDeletion()).isTrue();
  }

  @Test
  void createdSlotCarriesTheAgentFinalizerSoTheAgentNeedNotAddIt() {
    AoeBootPool pool = aPool().replicas(2).build();

    assertThat(decide(pool, List.of()).creates())
        .allSatisfy(s -> assertThat(s.getMetadata().getFinalizers()).containsExactly(Names.SLOT_FINALIZER));
  }

  @Test
  void updateSendsNoFinalizerSoServerSideApplyNeverOwnsTheAgents() {
    AoeBootPool before = aPool().replicas(1).build();
    AoeBootSlot existing = aSlot(before, 0).finalizer(Names.SLOT_FINALIZER).build();
    AoeBootPool after = aPool().replicas(1).shelf(8).build();

    assertThat(decide(after, List.of(existing)).updates())
        .singleElement().satisfies(s -> assertThat(s.getMetadata().getFinalizers()).isNullOrEmpty());
  }

  @Test
  void placementCountsSlotsOfOtherPools() {
    AoeBootPool pool = aPool().replicas(2).build();

    SlotSetPlan plan = SlotSetPlan.decide(pool, List.of(), NODES, ELIGIBLE, Map.of("node-a", 3), Set.of());

    assertThat(plan.creates()).extracting(s -> s.getSpec().getNodeName()).containsExactly("node-b", "node-b");
  }

  @Test
  void upToDateSlotsNeedNothing() {
    AoeBootPool pool = aPool().replicas(2).build();
    List<AoeBootSlot> own = List.of(aSlot(pool, 0).build(), aSlot(pool, 1).on("node-b").build());

    assertThat(decide(pool, own).isEmpty()).isTrue();
  }

  @Test
  void existingSlotStaysOnItsNodeEvenWhenThatNodeIsNoLongerEligible() {
    AoeBootPool pool = aPool().replicas(1).build();
    List<AoeBootSlot> own = List.of(aSlot(pool, 0).on("node-c").build());

    SlotSetPlan plan = SlotSetPlan.decide(pool, own, Set.of("node-a", "node-c"), List.of("node-a"), Map.of(), Set.of());

    assertThat(plan.isEmpty()).isTrue();
  }

  @Test
  void specChangeUpdatesSlotKeepingItsNode() {
    AoeBootPool before = aPool().replicas(1).build();
    AoeBootSlot existing = aSlot(before, 0).on("node-b").build();
    AoeBootPool after = aPool().replicas(1).image("/srv/images/v2.img").shelf(8).build();

    SlotSetPlan plan = decide(after, List.of(existing));

    assertThat(plan.updates()).singleElement().satisfies(s -> {
      assertThat(s.getSpec().getNodeName()).isEqualTo("node-b");
      assertThat(s.getSpec().getImage()).as("built from the old image until moved").isEqualTo("/srv/images/origin.img");
      assertThat(s.getSpec().getPoolImage()).isEqualTo("/srv/images/v2.img");
      assertThat(s.getSpec().getShelf()).isEqualTo(8);
    });
    assertThat(plan.creates()).isEmpty();
  }

  @Test
  void missingLabelsAreRestored() {
    AoeBootPool pool = aPool().replicas(1).build();
    AoeBootSlot existing = aSlot(pool, 0).build();
    existing.getMetadata().setLabels(Map.of());

    assertThat(names(decide(pool, List.of(existing)).updates())).containsExactly("boot-0");
  }

  @Test
  void scaleDownDeletesHighestSlotsFirst() {
    AoeBootPool pool = aPool().replicas(1).build();
    List<AoeBootSlot> own = List.of(aSlot(pool, 1).build(), aSlot(pool, 0).build(), aSlot(pool, 3).build(), aSlot(pool, 2).build());

    SlotSetPlan plan = decide(pool, own);

    assertThat(names(plan.deletes())).containsExactly("boot-3", "boot-2", "boot-1");
    assertThat(plan.creates()).isEmpty();
  }

  @Test
  void scaleToZeroDeletesEverySlot() {
    AoeBootPool pool = aPool().replicas(0).build();

    assertThat(names(decide(pool, List.of(aSlot(pool, 0).build(), aSlot(pool, 1).build())).deletes()))
        .containsExactly("boot-1", "boot-0");
  }

  @Test
  void slotBeingDeletedIsWaitedForNotRecreated() {
    AoeBootPool pool = aPool().replicas(1).build();
    AoeBootSlot leaving = aSlot(pool, 0).deleting().finalizer(Names.SLOT_FINALIZER).build();

    SlotSetPlan plan = decide(pool, List.of(leaving));

    assertThat(names(plan.terminating())).containsExactly("boot-0");
    assertThat(plan.isEmpty()).isTrue();
  }

  @Test
  void slotWhoseNodeIsGoneIsKeptAndReportedLostNotReleasedNorRecreated() {
    AoeBootPool pool = aPool().replicas(2).build();
    List<AoeBootSlot> own = List.of(aSlot(pool, 0).on("node-gone").build(), aSlot(pool, 1).build());

    SlotSetPlan plan = decide(pool, own);

    assertThat(names(plan.lost())).containsExactly("boot-0");
    assertThat(plan.releases()).isEmpty();
    assertThat(plan.creates()).isEmpty();
    assertThat(plan.deletes()).isEmpty();
  }

  @Test
  void terminatingSlotWhoseNodeIsGoneIsKeptUntilTheUserAbandonsIt() {
    AoeBootPool pool = aPool().replicas(1).build();
    AoeBootSlot lost = aSlot(pool, 0).on("node-gone").deleting().build();

    SlotSetPlan kept = decide(pool, List.of(lost));
    lost.getMetadata().setAnnotations(Map.of(SlotReclaim.ABANDON_ANNOTATION, "true"));
    SlotSetPlan abandoned = decide(pool, List.of(lost));

    assertThat(kept.releases()).isEmpty();
    assertThat(names(kept.lost())).containsExactly("boot-0");
    assertThat(names(abandoned.releases())).containsExactly("boot-0");
    assertThat(abandoned.lost()).isEmpty();
  }

  @Test
  void releasedSlotIsRememberedAsAbandonedAndEveryRecreatedObjectCarriesTheAbandonedUid() {
    AoeBootPool pool = aPool().replicas(1).build();
    AoeBootSlot lost = aSlot(pool, 0).on("node-gone").build();
    lost.getMetadata().setUid("uid-abandoned");
    lost.getMetadata().setAnnotations(Map.of(SlotReclaim.ABANDON_ANNOTATION, "true"));
    SlotSetPlan release = decide(pool, List.of(lost));

    List<SlotPlacement> afterRelease = Placements.next(pool, Map.of(0, "node-gone"), List.of(lost), release);
    assertThat(afterRelease).containsExactly(new SlotPlacement(0, null, "uid-abandoned"));

    pool.setStatus(new io.cowherd.api.v1alpha1.AoeBootPoolStatus());
    pool.getStatus().setPlacements(afterRelease);
    SlotSetPlan recreate = SlotSetPlan.decide(pool, List.of(), NODES, ELIGIBLE, Map.of(), Set.of(),
        Placements.recorded(pool), Placements.abandoned(pool));

    AoeBootSlot created = recreate.creates().getFirst();
    assertThat(created.getMetadata().getAnnotations()).containsEntry(SlotReclaim.ABANDONED_STORE_ANNOTATION, "uid-abandoned");
    SlotPlacement expected = new SlotPlacement(0, created.getSpec().getNodeName(), "uid-abandoned");
    expected.setImage(created.getSpec().getImage()); // the image its data is built from
    assertThat(Placements.next(pool, Placements.recorded(pool), List.of(), recreate)).containsExactly(expected);
    assertThat(decide(pool, List.of()).creates().getFirst().getMetadata().getAnnotations())
        .as("no abandonment known: no annotation").isNullOrEmpty();
  }

  @Test
  void missingSlotGoesBackToItsRecordedNodeEvenWhenThatNodeIsNotEligible() {
    AoeBootPool pool = aPool().replicas(2).build();

    SlotSetPlan plan = SlotSetPlan.decide(pool, List.of(), Set.of("node-a", "node-c"), List.of("node-a"), Map.of(),
        Set.of(), Map.of(1, "node-c"));

    assertThat(plan.creates()).extracting(s -> s.getMetadata().getName() + "@" + s.getSpec().getNodeName())
        .containsExactly("boot-0@node-a", "boot-1@node-c");
  }

  @Test
  void scaleDownDeletesCarryThePoolsReclaimPolicy() {
    AoeBootPool pool = aPool().replicas(1).build();
    pool.getSpec().setReclaimPolicy(ReclaimPolicy.Retain);

    SlotSetPlan plan = decide(pool, List.of(aSlot(pool, 0).build(), aSlot(pool, 1).build()));

    assertThat(names(plan.deletes())).containsExactly("boot-1");
    assertThat(plan.policy()).isEqualTo(ReclaimPolicy.Retain);
  }

  @Test
  void wantedSlotStillCarryingAReclaimMarkIsUnmarked() {
    AoeBootPool pool = aPool().replicas(1).build();
    AoeBootSlot marked = aSlot(pool, 0).build();
    marked.getMetadata().setAnnotations(SlotReclaim.mark(ReclaimPolicy.Delete));

    assertThat(names(decide(pool, List.of(marked)).unmarks())).containsExactly("boot-0");
  }

  @Test
  void placementsForgetSlotsScaledAwayUnderDeleteAndKeepThemUnderRetain() {
    AoeBootPool pool = aPool().replicas(1).build();
    Map<Integer, String> recorded = Map.of(0, "node-a", 1, "node-b");
    List<AoeBootSlot> own = List.of(aSlot(pool, 0).build());
    SlotSetPlan plan = decide(pool, own);

    List<SlotPlacement> underDelete = Placements.next(pool, recorded, own, plan);
    pool.getSpec().setReclaimPolicy(ReclaimPolicy.Retain);
    List<SlotPlacement> underRetain = Placements.next(pool, recorded, own, plan);

    assertThat(underDelete).usingRecursiveFieldByFieldElementComparatorIgnoringFields("image")
        .containsExactly(new SlotPlacement(0, "node-a"));
    assertThat(underRetain).usingRecursiveFieldByFieldElementComparatorIgnoringFields("image")
        .containsExactly(new SlotPlacement(0, "node-a"), new SlotPlacement(1, "node-b"));
    assertThat(underRetain.getFirst().getImage()).as("from the slot object").isEqualTo("/srv/images/origin.img");
    assertThat(underRetain.get(1).getImage()).as("nothing recorded for it").isNull();
  }

  @Test
  void slotWhoseNodeIsOnlyNotReadyIsKept() {
    AoeBootPool pool = aPool().replicas(1).build();

    SlotSetPlan plan = SlotSetPlan.decide(pool, List.of(aSlot(pool, 0).build()), Set.of("node-a"), List.of(), Map.of(), Set.of());

    assertThat(plan.isEmpty()).isTrue();
    assertThat(plan.releases()).isEmpty();
  }

  @Test
  void blockedSlotsAreNeitherCreatedNorChanged() {
    AoeBootPool before = aPool().replicas(3).build();
    AoeBootSlot existing = aSlot(before, 0).build();
    AoeBootPool after = aPool().replicas(3).shelf(8).build();

    SlotSetPlan plan = SlotSetPlan.decide(after, List.of(existing), NODES, ELIGIBLE, Map.of(), Set.of(0, 1));

    assertThat(plan.heldBack()).containsExactly(0, 1);
    assertThat(plan.updates()).isEmpty();
    assertThat(names(plan.creates())).containsExactly("boot-2");
  }

  @Test
  void blockedSlotAboveReplicasIsStillDeletedOnScaleDown() {
    AoeBootPool pool = aPool().replicas(1).build();

    SlotSetPlan plan = SlotSetPlan.decide(pool, List.of(aSlot(pool, 0).build(), aSlot(pool, 1).build()), NODES, ELIGIBLE,
        Map.of(), Set.of());

    assertThat(names(plan.deletes())).containsExactly("boot-1");
  }

  @Test
  void withoutEligibleNodeMissingSlotsAreUnplaced() {
    AoeBootPool pool = aPool().replicas(2).build();

    SlotSetPlan plan = SlotSetPlan.decide(pool, List.of(aSlot(pool, 0).build()), Set.of("node-a"), List.of(), Map.of(), Set.of());

    assertThat(plan.unplaced()).containsExactly(1);
    assertThat(plan.creates()).isEmpty();
  }

  @Test
  void duplicateSlotNumberPrefersCanonicalName() {
    AoeBootPool pool = aPool().replicas(1).build();
    AoeBootSlot canonical = aSlot(pool, 0).build();
    AoeBootSlot stray = aSlot(pool, 0).build();
    stray.getMetadata().setName("aaa-manual");

    SlotSetPlan plan = decide(pool, List.of(stray, canonical));

    assertThat(plan.isEmpty()).isTrue();
  }

  @Test
  void teardownMarksAndDeletesAllHighestFirstAndReleasesSlotsOfGoneNodes() {
    AoeBootPool pool = aPool().replicas(3).deleting().build();
    List<AoeBootSlot> own = List.of(aSlot(pool, 0).build(), aSlot(pool, 2).build(), aSlot(pool, 1).on("node-gone").build(),
        aSlot(pool, 3).deleting().build());

    SlotSetPlan plan = SlotSetPlan.teardown(pool, own, NODES);

    assertThat(names(plan.deletes())).as("an unmarked slot being deleted is marked too").containsExactly("boot-3", "boot-2", "boot-0");
    assertThat(plan.policy()).isEqualTo(ReclaimPolicy.Delete);
    assertThat(names(plan.releases())).containsExactly("boot-1");
    assertThat(names(plan.terminating())).containsExactly("boot-3");
    assertThat(plan.creates()).isEmpty();
  }
}
