package io.cowherd.agent.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private final Backoff b = Backoff.DEFAULT;

  @Test
  void firstRestartAfterHalfASecondThenDoublingCappedAtThirtySeconds() {
    assertThat(b.delay(1)).isEqualTo(Duration.ofMillis(500));
    assertThat(b.delay(2)).isEqualTo(Duration.ofSeconds(1));
    assertThat(b.delay(3)).isEqualTo(Duration.ofSeconds(2));
    assertThat(b.delay(7)).isEqualTo(Duration.ofSeconds(30));
    assertThat(b.delay(1000)).isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void aMinuteOfRunningCountsAsStable() {
    assertThat(b.wasStable(Duration.ofSeconds(59))).isFalse();
    assertThat(b.wasStable(Duration.ofSeconds(60))).isTrue();
  }
}
