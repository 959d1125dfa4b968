package io.cowherd.agent.export;

import java.time.Duration;

/**
 * Restart delays for an exporter that exited: {@code initial * 2^(failures-1)}, capped at {@code
 * max}; a run of at least {@code stableAfter} resets the count. Pure.
 *
 * @param initial delay before the first restart (500 ms: an exporter is back well within 5 s)
 * @param max longest delay
 * @param stableAfter a run this long counts as healthy and resets the backoff
 */
public record Backoff(Duration initial, Duration max, Duration stableAfter) {
  /** 500 ms, doubling, capped at 30 s, reset after 60 s of stable running. */
  public static final Backoff DEFAULT = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), Duration.ofSeconds(60));

  /**
   * Delay before restart number {@code consecutiveFailures} (1 = first exit after a stable run).
   */
  public Duration delay(int consecutiveFailures) {
    if (consecutiveFailures <= 1) {
      return initial;
    }
    int shift = Math.min(consecutiveFailures - 1, 30);
    long millis = initial.toMillis() << shift;
    return millis <= 0 || millis > max.toMillis() ? max : Duration.ofMillis(millis);
  }

  /** Whether a run of {@code ran} was stable enough to reset the failure count. */
  public boolean wasStable(Duration ran) {
    return ran.compareTo(stableAfter) >= 0;
  }
}
