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

  @Test
  void agentLeaseNameIsPrefixedNodeName() {
    assertThat(Names.agentLeaseName("node-a")).isEqualTo("cowherd-agent-node-a");
  }

  @Test
  void agentLeaseNameOfAVeryLongNodeNameFitsAnObjectNameAndStaysDistinct() {
    String a = "n".repeat(250) + "a";
    String b = "n".repeat(250) + "b";

    assertThat(Names.agentLeaseName(a)).hasSizeLessThanOrEqualTo(253).startsWith("cowherd-agent-nnn")
        .matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
    assertThat(Names.agentLeaseName(a)).isNotEqualTo(Names.agentLeaseName(b));
  }
}
