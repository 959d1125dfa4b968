package io.cowherd.agent.inventory;

/**
 * How full a space is, for warnings: a slot's COW store (used of total sectors) or the state dir's
 * filesystem (used of total bytes). One home for the thresholds. Pure.
 */
public enum SpaceLevel {
  /** Below {@link #HIGH}. */
  OK(0),
  /** At least 80% used. */
  HIGH(80),
  /** At least 95% used. */
  CRITICAL(95);

  private final int percent;

  SpaceLevel(int percent) {
    this.percent = percent;
  }

  /** The threshold in percent (0 for {@link #OK}); the value of the warning-level metrics. */
  public int percent() {
    return percent;
  }

  /** The level of {@code used} out of {@code total} (any one unit); {@link #OK} if {@code total <= 0}. */
  public static SpaceLevel of(long used, long total) {
    if (total <= 0) {
      return OK;
    }
    double fraction = (double) used / total;
    return fraction >= 0.95 ? CRITICAL : fraction >= 0.80 ? HIGH : OK;
  }

  /** Used percent, rounded down, for messages. */
  public static long percentOf(long used, long total) {
    return total <= 0 ? 0 : used * 100 / total;
  }
}
