package io.cowherd.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.SlotReclaim.OnDeletion;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.ReclaimPolicy;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SlotReclaimTest {
  @Test
  void onlyTheOperatorsMarkAllowsRemovingData() {
    assertThat(SlotReclaim.onDeletion(slot(SlotReclaim.mark(ReclaimPolicy.Delete)))).isEqualTo(OnDeletion.REMOVE_ALL);
    assertThat(SlotReclaim.onDeletion(slot(SlotReclaim.mark(ReclaimPolicy.Retain)))).isEqualTo(OnDeletion.KEEP_COW_STORE);
  }

  @Test
  void noMarkOrAnUnknownValueKeepsEverything() {
    assertThat(SlotReclaim.onDeletion(slot(Map.of()))).isEqualTo(OnDeletion.KEEP_ALL);
    assertThat(SlotReclaim.onDeletion(slot(null))).isEqualTo(OnDeletion.KEEP_ALL);
    assertThat(SlotReclaim.onDeletion(slot(Map.of(SlotReclaim.ANNOTATION, "delete")))).isEqualTo(OnDeletion.KEEP_ALL);
    assertThat(SlotReclaim.onDeletion(slot(Map.of(SlotReclaim.ANNOTATION, "")))).isEqualTo(OnDeletion.KEEP_ALL);
    assertThat(SlotReclaim.onDeletion(new AoeBootSlot())).isEqualTo(OnDeletion.KEEP_ALL);
  }

  @Test
  void abandonCountsOnlyWithTheValueTrue() {
    assertThat(SlotReclaim.abandoned(slot(Map.of(SlotReclaim.ABANDON_ANNOTATION, "true")))).isTrue();
    assertThat(SlotReclaim.abandoned(slot(Map.of(SlotReclaim.ABANDON_ANNOTATION, "yes")))).isFalse();
    assertThat(SlotReclaim.abandoned(slot(Map.of()))).isFalse();
  }

  @Test
  void onlyAStoreLastServedByTheAbandonedObjectIsMovedAside() {
    AoeBootSlot recreated = slot(SlotReclaim.abandonment("uid-old"));
    recreated.getMetadata().setUid("uid-new");
    assertThat(SlotReclaim.abandonedStoreOf(recreated)).contains("uid-old");
    assertThat(SlotReclaim.mustMoveAside(recreated, Optional.of("uid-old"))).isTrue();
    // its own new store, on every later reconcile
    assertThat(SlotReclaim.mustMoveAside(recreated, Optional.of("uid-new"))).isFalse();
    // a store of another object, or of unknown history (stamp of an older agent), is adopted as before
    assertThat(SlotReclaim.mustMoveAside(recreated, Optional.of("uid-other"))).isFalse();
    assertThat(SlotReclaim.mustMoveAside(recreated, Optional.empty())).isFalse();
  }

  @Test
  void withoutTheAbandonmentAnnotationNothingIsMovedAside() {
    AoeBootSlot plain = slot(Map.of());
    plain.getMetadata().setUid("uid-new");
    assertThat(SlotReclaim.abandonedStoreOf(plain)).isEmpty();
    assertThat(SlotReclaim.mustMoveAside(plain, Optional.of("uid-old"))).isFalse();
    assertThat(SlotReclaim.mustMoveAside(slot(Map.of(SlotReclaim.ABANDONED_STORE_ANNOTATION, " ")), Optional.of(" ")))
        .isFalse();
    AoeBootSlot self = slot(SlotReclaim.abandonment("uid-new"));
    self.getMetadata().setUid("uid-new");
    assertThat(SlotReclaim.mustMoveAside(self, Optional.of("uid-new"))).isFalse();
  }

  private static AoeBootSlot slot(Map<String, String> annotations) {
    AoeBootSlot slot = new AoeBootSlot();
    slot.setMetadata(new ObjectMetaBuilder().withName("lab-0").build());
    slot.getMetadata().setAnnotations(annotations);
    return slot;
  }
}
