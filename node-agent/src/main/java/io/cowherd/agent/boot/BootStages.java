package io.cowherd.agent.boot;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The boot stages a client's I/O shows, decided from the times of its last read and write request
 * ({@link io.cowherd.agent.export.AtaIoWatch}), each client known by its MAC:
 *
 * <ul>
 *   <li>{@link Stage#Reading}: a read request came within the last {@link #activeWindow()} and
 *       in the current active period (from Queried, Silent, or no stage yet);
 *   <li>{@link Stage#Writing}: a write request came within the window in the current active period;
 *       a client that wrote stays Writing (reads after writes do not go back to Reading) until it
 *       falls silent: a boot's stages only move forward, so a client costs at most three status
 *       writes per active period;
 *   <li>{@link Stage#Silent}: no request for {@code silentAfter} since the later of the last
 *       request and the start of its stage Queried, Reading or Writing.
 * </ul>
 *
 * <p>{@link #queried} (a Query Config from the MAC) starts a new boot: stage Queried, which the
 * next I/O moves on. An active period begins at a Query Config or at the fall into Silent; requests
 * from before it never move the stage. Decisions are made by {@link #observe}, called periodically (the agent: once
 * a second) off the data path; each change goes to the sink once, so a client's status is written
 * once per change and never while nothing changes. Thread-safe.
 */
public final class BootStages {
  /** A client's stage; the names are those of {@code status.boot.stage}. */
  public enum Stage {
    /** The boot endpoint served the client's script. */
    ScriptServed,
    /** An AoE Query Config from the client's MAC was seen. */
    Queried,
    /** The client reads its disk. */
    Reading,
    /** The client has written its disk in this active period. */
    Writing,
    /** No request from the client for the configured time. */
    Silent
  }

  /**
   * One stage change.
   *
   * @param mac the client's MAC ({@link io.cowherd.aoe.frame.MacAddress#value()})
   * @param stage its new stage
   * @param since when the stage began
   * @param lastRead its last read request, or null before any
   * @param lastWrite its last write request, or null before any
   */
  public record Change(long mac, Stage stage, Instant since, Instant lastRead, Instant lastWrite) {}

  /** Longest time since a request for which a client counts as reading or writing now. */
  public static final Duration ACTIVE_WINDOW = Duration.ofSeconds(5);

  private static final class State {
    Stage stage;
    long sinceMillis;
    /** Start of the active period: the Query Config, the fall into Silent, or a seed; 0: none. */
    long periodStartMillis;
    long lastReadMillis;
    long lastWriteMillis;
  }

  private final long activeMillis;
  private final long silentMillis;
  private final Consumer<Change> sink;
  private final Map<Long, State> states = new HashMap<>();

  /**
   * @param silentAfter time without a request after which a client is Silent (at least 1 s)
   * @param sink gets each change; called with this object's lock held, so it must not block
   * @throws IllegalArgumentException if {@code silentAfter} is shorter than a second
   */
  public BootStages(Duration silentAfter, Consumer<Change> sink) {
    if (silentAfter.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("silentAfter must be at least 1 s, got " + silentAfter);
    }
    this.silentMillis = silentAfter.toMillis();
    this.activeMillis = Math.min(ACTIVE_WINDOW.toMillis(), silentMillis);
    this.sink = sink;
  }

  /** The window within which a request counts as current: {@link #ACTIVE_WINDOW}, or silentAfter if shorter. */
  public Duration activeWindow() {
    return Duration.ofMillis(activeMillis);
  }

  /** A Query Config from {@code mac} was seen at {@code at}: stage Queried (recorded by the caller). */
  public synchronized void queried(long mac, Instant at) {
    State s = states.computeIfAbsent(mac, m -> new State());
    s.stage = Stage.Queried;
    s.sinceMillis = at.toEpochMilli();
    s.periodStartMillis = s.sinceMillis;
  }

  /** Whether {@code mac} has a state here (seen, queried or seeded). */
  public synchronized boolean knows(long mac) {
    return states.containsKey(mac);
  }

  /**
   * Starts client {@code mac}, not known here yet, in the {@code stage} recorded before (an agent
   * restart), as if it began at {@code nowMillis}: a client that stays quiet goes Silent after
   * silentAfter. Nothing is sent. Ignored for a known client.
   */
  public synchronized void seed(long mac, Stage stage, long nowMillis) {
    if (!states.containsKey(mac)) {
      State s = new State();
      s.stage = stage;
      s.sinceMillis = nowMillis;
      s.periodStartMillis = nowMillis;
      states.put(mac, s);
    }
  }

  /**
   * Judges client {@code mac} at {@code nowMillis} from the times of its last read and write
   * request (Unix ms, 0: none); sends a {@link Change} when its stage changes.
   */
  public synchronized void observe(long mac, long lastReadMillis, long lastWriteMillis, long nowMillis) {
    State s = states.computeIfAbsent(mac, m -> new State());
    s.lastReadMillis = Math.max(s.lastReadMillis, lastReadMillis);
    s.lastWriteMillis = Math.max(s.lastWriteMillis, lastWriteMillis);
    // A request counts if it came in this active period, not only since this stage began: request
    // times are stamped when their batch was taken off the ring, up to a receive timeout before the
    // tick that judges them, so a write stamped before the tick that moved the client to Reading must
    // still move it to Writing (CI once saw a boot's stages skip Writing so).
    boolean writeNow = s.lastWriteMillis > 0 && nowMillis - s.lastWriteMillis <= activeMillis
        && s.lastWriteMillis >= s.periodStartMillis;
    boolean readNow = s.lastReadMillis > 0 && nowMillis - s.lastReadMillis <= activeMillis
        && s.lastReadMillis >= s.periodStartMillis;
    Stage next = s.stage;
    if (writeNow && s.stage != Stage.Writing) {
      next = Stage.Writing;
    } else if (readNow && s.stage != Stage.Reading && s.stage != Stage.Writing) {
      next = Stage.Reading;
    } else if ((s.stage == Stage.Queried || s.stage == Stage.Reading || s.stage == Stage.Writing)
        && nowMillis - Math.max(s.sinceMillis, Math.max(s.lastReadMillis, s.lastWriteMillis)) >= silentMillis) {
      next = Stage.Silent;
    }
    if (next != s.stage) {
      s.stage = next;
      s.sinceMillis = nowMillis;
      if (next == Stage.Silent) {
        s.periodStartMillis = nowMillis;
      }
      sink.accept(new Change(mac, next, Instant.ofEpochMilli(nowMillis), instant(s.lastReadMillis),
          instant(s.lastWriteMillis)));
    }
  }

  /** The stage of {@code mac} with its start, if it has one. */
  public synchronized Optional<Map.Entry<Stage, Instant>> stage(long mac) {
    State s = states.get(mac);
    return s == null || s.stage == null ? Optional.empty()
        : Optional.of(Map.entry(s.stage, Instant.ofEpochMilli(s.sinceMillis)));
  }

  /** Forgets every client but {@code keep} (clients of slots no longer served here). */
  public synchronized void retain(Set<Long> keep) {
    states.keySet().retainAll(keep);
  }

  private static Instant instant(long millis) {
    return millis == 0 ? null : Instant.ofEpochMilli(millis);
  }
}
