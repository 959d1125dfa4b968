package io.cowherd.agent.backend;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The current {@link OriginIdentity} of each origin, read at most once per {@link #FRESH} per
 * origin: the slots of one pool reconciled together (a periodic resync, an agent start) share one
 * stat(2) of their origin. A change is therefore seen at most {@link #FRESH} later than with a
 * stat per slot.
 */
public final class OriginIdentities {
  /** How long one reading of an origin's identity is reused. */
  public static final Duration FRESH = Duration.ofSeconds(1);

  private record Reading(OriginIdentity identity, Instant at) {}

  private final Clock clock;
  private final Map<Path, Reading> readings = new ConcurrentHashMap<>();

  public OriginIdentities(Clock clock) {
    this.clock = clock;
  }

  public OriginIdentities() {
    this(Clock.systemUTC());
  }

  /**
   * The identity of {@code origin}, read now or at most {@link #FRESH} ago.
   *
   * @throws java.io.UncheckedIOException if it cannot be stat'ed
   */
  public OriginIdentity current(Path origin) {
    Instant now = clock.instant();
    Reading r = readings.get(origin);
    if (r == null || r.at().plus(FRESH).isBefore(now) || r.at().isAfter(now)) {
      r = new Reading(OriginIdentity.of(origin), now);
      readings.put(origin, r);
    }
    return r.identity();
  }
}
