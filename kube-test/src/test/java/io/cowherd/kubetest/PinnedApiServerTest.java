package io.cowherd.kubetest;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.LocalTime;
import org.junit.jupiter.api.Test;

class PinnedApiServerTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(120);
  private static final Duration MARGIN = Duration.ofSeconds(60);

  @Test
  void aStartWellBeforeMidnightDoesNotWait() {
    assertThat(PinnedApiServer.waitBeforeStart(LocalTime.of(12, 0), TIMEOUT, MARGIN)).isZero();
    assertThat(PinnedApiServer.waitBeforeStart(LocalTime.of(23, 56, 59), TIMEOUT, MARGIN)).isZero();
    assertThat(PinnedApiServer.waitBeforeStart(LocalTime.MIDNIGHT, TIMEOUT, MARGIN)).isZero();
  }

  @Test
  void aStartWhoseDeadlineWouldWrapPastMidnightWaitsUntilJustAfterIt() {
    // CI's failed start: 23:59:34 + 120 s is 00:01:34, a LocalTime "before" 23:59:34.
    assertThat(PinnedApiServer.waitBeforeStart(LocalTime.of(23, 59, 34), TIMEOUT, MARGIN))
        .isEqualTo(Duration.ofSeconds(27));
    assertThat(PinnedApiServer.waitBeforeStart(LocalTime.of(23, 57, 30), TIMEOUT, MARGIN))
        .isEqualTo(Duration.ofSeconds(151));
    assertThat(PinnedApiServer.waitBeforeStart(LocalTime.of(23, 59, 59, 500_000_000), TIMEOUT, MARGIN))
        .isEqualTo(Duration.ofMillis(1_500));
  }

  @Test
  void theWaitEndsAfterMidnightSoTheDeadlineNoLongerWraps() {
    LocalTime now = LocalTime.of(23, 58, 10);
    Duration wait = PinnedApiServer.waitBeforeStart(now, TIMEOUT, MARGIN);
    LocalTime start = now.plus(wait);
    assertThat(start).isBetween(LocalTime.MIDNIGHT, LocalTime.of(0, 0, 2));
    assertThat(start.plus(TIMEOUT.plus(MARGIN))).isAfter(start);
  }
}
