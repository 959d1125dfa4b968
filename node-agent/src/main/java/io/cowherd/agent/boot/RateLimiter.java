package io.cowherd.agent.boot;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Token buckets, one per key (a client address, a pool), plus a bound on how many keys are kept
 * (least recently used first out), so invented keys cannot grow memory. Thread-safe.
 */
public final class RateLimiter {
  private final double perSecond;
  private final double burst;
  private final int maxKeys;
  private final Clock clock;
  private final Map<String, double[]> buckets;

  /**
   * @param perSecond tokens added per second per key
   * @param burst most tokens a key holds (and holds at first)
   * @param maxKeys most keys remembered
   */
  public RateLimiter(double perSecond, double burst, int maxKeys, Clock clock) {
    if (perSecond <= 0 || burst < 1 || maxKeys < 1) {
      throw new IllegalArgumentException("rate, burst and key count must be positive");
    }
    this.perSecond = perSecond;
    this.burst = burst;
    this.maxKeys = maxKeys;
    this.clock = clock;
    this.buckets = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, double[]> eldest) {
        return size() > RateLimiter.this.maxKeys;
      }
    };
  }

  /** Takes one token for {@code key}: true when there was one. */
  public synchronized boolean tryAcquire(String key) {
    double now = clock.millis() / 1000.0;
    double[] b = buckets.computeIfAbsent(key, k -> new double[] {burst, now});
    b[0] = Math.min(burst, b[0] + (now - b[1]) * perSecond);
    b[1] = now;
    if (b[0] >= 1) {
      b[0] -= 1;
      return true;
    }
    return false;
  }
}
