package io.cowherd.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import org.junit.jupiter.api.Test;

/** The COW% column's value: used / total sectors as a whole percent, rounded down, within 0–100. */
class CowUsedPercentTest {
  @Test
  void percentIsRoundedDownCappedAndAbsentWithoutACapacity() {
    AoeBootSlotStatus s = new AoeBootSlotStatus();
    s.setCowUsage(1, 1000);
    assertThat(s.getCowUsedPercent()).isZero();
    s.setCowUsage(899, 1000);
    assertThat(s.getCowUsedPercent()).isEqualTo(89);
    assertThat(s.getCowUsedSectors()).isEqualTo(899);
    assertThat(s.getCowTotalSectors()).isEqualTo(1000);
    s.setCowUsage(2_000, 1000); // a sparse clone can report more than its size: capped
    assertThat(s.getCowUsedPercent()).isEqualTo(100);
    s.setCowUsage(5, 0);
    assertThat(s.getCowUsedPercent()).isNull();
  }
}
