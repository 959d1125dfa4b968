package io.cowherd.operator.pool;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.operator.liveness.LivenessConditionWriter;
import io.cowherd.operator.support.Pools;
import io.cowherd.operator.support.Slots;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

class SilentAgentDeletionReporterTest {
  private static AoeBootSlot slot(int n, String node, boolean silent) {
    AoeBootSlot slot = Slots.aSlot(Pools.aPool().named("boot").build(), n).on(node).build();
    if (silent) {
      AoeBootSlotStatus status = slot.getStatus();
      status.setConditions(List.of(new ConditionBuilder().withType(LivenessConditionWriter.TYPE).withStatus("Unknown")
          .withReason(LivenessConditionWriter.AGENT_SILENT).withMessage("silent").build()));
    }
    return slot;
  }

  @Test
  void namesEachSilentNodeAndTheSlotsWaitingOnIt() {
    String message = SilentAgentDeletionReporter.message(List.of(
        slot(2, "node-b", true), slot(0, "node-a", true), slot(1, "node-a", true), slot(3, "node-c", false))).orElseThrow();

    assertThat(message).isEqualTo("deletion waits for the node agents of nodes node-a, node-b, which are silent (no "
        + "heartbeat), to tear down their slots: node-a: boot-0, boot-1; node-b: boot-2. Start the agent on those nodes "
        + "again; the deletion then completes by itself.");
  }

  @Test
  void saysNothingWhenNoRemainingSlotsAgentIsSilent() {
    assertThat(SilentAgentDeletionReporter.message(List.of(slot(0, "node-a", false)))).isEmpty();
  }
}
