package io.cowherd.agent.slot;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.backend.OriginIdentity;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.support.Slots;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.SlotOrigin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The origin watch hands a slot to the reconciler exactly when the file at its served origin path
 * no longer has the identity its status reports (written in place, replaced, deleted), and never
 * for an unchanged origin or a slot already reported changed.
 */
class OriginWatchTest {
  @TempDir Path dir;

  @Test
  void aSlotIsReconciledOnlyWhenItsOriginNoLongerHasTheServedIdentity() throws Exception {
    Path origin = Files.write(dir.resolve("debian.img"), new byte[4096]);
    String served = OriginIdentity.of(origin).format();
    List<AoeBootSlot> slots = new ArrayList<>(List.of(slot(0, origin, served, false), slot(1, origin, served, false)));
    List<SlotId> handed = new ArrayList<>();
    OriginWatch watch = new OriginWatch(slots::stream, handed::add);

    assertThat(watch.look()).as("origin unchanged").isZero();

    // Written in place (appended: the size changes too, so the check does not hang on the
    // filesystem's ctime granularity).
    Files.write(origin, new byte[] {1}, java.nio.file.StandardOpenOption.APPEND);
    assertThat(watch.look()).isEqualTo(2);
    assertThat(handed).extracting(SlotId::slot).containsExactly(0, 1);

    handed.clear();
    slots.set(0, slot(0, origin, served, true)); // reported changed already
    assertThat(watch.look()).isEqualTo(1);
    assertThat(handed).extracting(SlotId::slot).containsExactly(1);

    handed.clear();
    Files.delete(origin);
    assertThat(watch.look()).as("origin gone").isEqualTo(1);
  }

  private static AoeBootSlot slot(int n, Path origin, String identity, boolean changed) {
    AoeBootSlot slot = Slots.aSlot().slot(n).build();
    AoeBootSlotStatus status = new AoeBootSlotStatus();
    status.setOrigin(new SlotOrigin(origin.toString(), identity, changed, null));
    slot.setStatus(status);
    return slot;
  }
}
