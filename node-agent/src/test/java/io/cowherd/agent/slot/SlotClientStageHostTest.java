package io.cowherd.agent.slot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.support.ReflinkHostLab;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.SlotPhase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A slot's {@code status.clientStage} (its STAGE column) when the agent's I/O watch has nothing to
 * say about the client, as right after an agent restart: a slot bound to its client's MAC keeps
 * the stage it had (so a restart writes no status), a slot bound to no MAC shows none. Real
 * reconciles on a loop-mounted XFS with a real vblade.
 */
@Tag("host")
class SlotClientStageHostTest {
  @TempDir Path tmp;
  private ReflinkHostLab lab;

  @BeforeEach
  void setUp() throws IOException {
    lab = ReflinkHostLab.start(tmp, ReflinkHostLab.sparseOrigin(8 << 20, "v1".getBytes(StandardCharsets.US_ASCII)));
  }

  @AfterEach
  void cleanUp() throws IOException {
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  void aBoundSlotKeepsItsLastStageWhenTheWatchHasNotSeenItsClientAndAnUnboundSlotShowsNone() {
    AoeBootSlot bound = aSlot().shelf(9).slot(0).iface(lab.iface).image(lab.origin.toString())
        .backend(CowBackend.REFLINK).build();
    bound.getSpec().setAllowedMacs(List.of("52:54:00:c0:de:01"));
    AoeBootSlotStatus first = lab.reconcile(bound);
    assertThat(first.getPhase()).isEqualTo(SlotPhase.Serving);
    assertThat(first.getClientStage()).as("never seen").isNull();

    first.setClientStage("Silent"); // what the agent wrote before it restarted
    bound.setStatus(first);
    assertThat(lab.reconcile(bound).getClientStage()).isEqualTo("Silent");

    AoeBootSlot unbound = aSlot().shelf(9).slot(1).iface(lab.iface).image(lab.origin.toString())
        .backend(CowBackend.REFLINK).build();
    AoeBootSlotStatus u = lab.reconcile(unbound);
    u.setClientStage("Writing"); // left from a binding since removed
    unbound.setStatus(u);
    assertThat(lab.reconcile(unbound).getClientStage()).isNull();
  }
}
