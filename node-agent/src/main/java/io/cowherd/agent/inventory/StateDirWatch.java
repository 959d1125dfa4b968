package io.cowherd.agent.inventory;

import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Looks at the state dir's filesystem every {@link #INTERVAL} (one statvfs(2), microseconds) and
 * calls {@code onChange} when it crosses a warning level ({@link SpaceLevel}) or the full mark
 * ({@link StateDirSpace#isFull}), so slots are re-judged within seconds rather than at the 60 s
 * periodic reconcile; keeps the last reading for the metrics.
 */
public final class StateDirWatch {
  private static final Logger LOG = LoggerFactory.getLogger(StateDirWatch.class);
  /** Between two looks at the filesystem. */
  public static final Duration INTERVAL = Duration.ofSeconds(5);

  private final StateDirSpace space;
  private final Runnable onChange;
  private volatile StateDirSpace.Report last;
  private String lastState = "";

  /**
   * @param onChange called (on the scheduler's thread) when the level or fullness changed
   */
  public StateDirWatch(StateDirSpace space, Runnable onChange) {
    this.space = space;
    this.onChange = onChange;
  }

  /** Starts looking every {@link #INTERVAL} on {@code scheduler}. */
  public void start(ScheduledExecutorService scheduler) {
    scheduler.scheduleWithFixedDelay(this::look, 0, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** One look; public for tests. */
  public void look() {
    Optional<StateDirSpace.Report> report;
    try {
      report = space.check();
    } catch (IOException e) {
      LOG.warn("cannot read the free space of the state dir: {}", e.toString());
      return;
    }
    report.ifPresent(r -> last = r);
    String state = report.map(r -> r.level() + (r.full() ? "/full" : "")).orElse("");
    boolean changed;
    synchronized (this) {
      changed = !state.equals(lastState);
      lastState = state;
    }
    if (changed) {
      report.ifPresent(r -> LOG.info("state dir {}: {}% used, {} bytes free{}", r.stateDir(),
          SpaceLevel.percentOf(r.totalBytes() - r.usableBytes(), r.totalBytes()), r.usableBytes(),
          r.full() ? " (full)" : ""));
      onChange.run();
    }
  }

  /** The last reading, if any. */
  public Optional<StateDirSpace.Report> last() {
    return Optional.ofNullable(last);
  }
}
