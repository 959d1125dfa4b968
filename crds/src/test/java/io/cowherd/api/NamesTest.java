package io.cowherd.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class NamesTest {
  @Test
  void slotNameIsPoolDashSlot() {
    assertThat(Names.slotName("lab", 7)).isEqualTo("lab-7");
  }

  @Test
  void targetUsesAoeNotation() {
    assertThat(Names.target(7, 3)).isEqualTo("e7.3");
  }

  @Test
  void slotLabelsNamePoolSlotAndNode() {
    assertThat(Names.slotLabels("lab", 2, "node-a"))
        .containsEntry(Names.POOL_LABEL, "lab")
        .containsEntry(Names.SLOT_LABEL, "2")
        .containsEntry(Names.NODE_LABEL, "node-a");
  }
}
