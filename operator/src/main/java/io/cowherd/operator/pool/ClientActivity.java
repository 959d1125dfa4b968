package io.cowherd.operator.pool;

import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.BootProgress;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Whether a slot's client is seen doing I/O, from what the node agents record on its {@code
 * AoeBootClient} ({@code status.boot}, {@link BootProgress}). Pure; the one home of the rule every
 * disk-pulling action of the operator (a reset, a paced move) checks first.
 *
 * <p>A client is <b>busy</b> when a node agent saw a read, a write or an AoE Query Config from its
 * MAC less than {@link #BUSY_WINDOW} ago ({@code status.boot.readingAt} / {@code writingAt} /
 * {@code queriedAt}, RFC 3339: a client that queried its target is booting or re-attaching, and a
 * query during a long transfer moves the recorded stage back to {@code Queried} for a moment, so
 * it must not open a gap), or when its
 * latest stage is still {@code Reading} or {@code Writing} (the agent has not yet declared it {@code
 * Silent}, so a long-running transfer whose timestamps are written only on stage changes is busy
 * too). A client with no recorded boot progress, or no {@code AoeBootClient} at all, is never seen
 * and so never busy: nothing on the wire speaks for it.
 *
 * <p>A client is <b>silent for</b> the time since its last recorded read, write or AoE query
 * ({@code queriedAt}); empty when nothing was ever recorded or the stage is still {@code Reading}
 * or {@code Writing}.
 */
public final class ClientActivity {
  /** A read or write seen less than this long ago makes a client busy. */
  public static final Duration BUSY_WINDOW = Duration.ofSeconds(60);
  /** Stages written by the agents while a client transfers data. */
  private static final java.util.Set<String> TRANSFER_STAGES = java.util.Set.of("Reading", "Writing");

  private ClientActivity() {}

  /**
   * Why {@code client} counts as doing I/O at {@code now}, as a sentence naming the client, the
   * field and its age (e.g. {@code client pc-0 was seen writing 12 s ago (status.boot.writingAt
   * 2026-12-02T15:00:00Z)}); empty when it does not.
   */
  public static Optional<String> busy(Optional<AoeBootClient> client, Instant now) {
    if (client.isEmpty() || boot(client.get()).isEmpty()) {
      return Optional.empty();
    }
    String name = client.get().getMetadata().getName();
    BootProgress boot = boot(client.get()).get();
    Optional<String> io = Stream.of(seen("reading", "readingAt", boot.getReadingAt(), now),
            seen("writing", "writingAt", boot.getWritingAt(), now),
            seen("querying its target", "queriedAt", boot.getQueriedAt(), now))
        .flatMap(Optional::stream)
        .filter(s -> s.age().compareTo(BUSY_WINDOW) <= 0) // a time ahead of ours (clock skew) counts as now
        .min(java.util.Comparator.comparing(Seen::age))
        .map(s -> "client " + name + " was seen " + s.what() + " " + describe(s.age()) + " ago (status.boot."
            + s.field() + " " + s.value() + ")");
    if (io.isPresent()) {
      return io;
    }
    if (boot.getStage() != null && TRANSFER_STAGES.contains(boot.getStage())) {
      return Optional.of("client " + name + " is in stage " + boot.getStage() + " since "
          + Optional.ofNullable(boot.getStageSince()).orElse("an unknown time") + " (status.boot.stage)");
    }
    return Optional.empty();
  }

  /**
   * How long {@code client} has been silent at {@code now}: the time since its latest recorded
   * read, write or query; empty when no such time is recorded, or its stage is still {@code
   * Reading}/{@code Writing}.
   */
  public static Optional<Duration> silentFor(Optional<AoeBootClient> client, Instant now) {
    Optional<BootProgress> boot = client.flatMap(ClientActivity::boot);
    if (boot.isEmpty() || boot.get().getStage() != null && TRANSFER_STAGES.contains(boot.get().getStage())) {
      return Optional.empty();
    }
    return Stream.of(boot.get().getReadingAt(), boot.get().getWritingAt(), boot.get().getQueriedAt())
        .map(ClientActivity::instant).flatMap(Optional::stream)
        .max(Instant::compareTo)
        .map(last -> last.isAfter(now) ? Duration.ZERO : Duration.between(last, now));
  }

  private record Seen(String what, String field, String value, Duration age) {}

  private static Optional<Seen> seen(String what, String field, String value, Instant now) {
    return instant(value).map(at -> new Seen(what, field, value, Duration.between(at, now)));
  }

  private static Optional<BootProgress> boot(AoeBootClient client) {
    return Optional.ofNullable(client.getStatus()).map(s -> s.getBoot());
  }

  /** An RFC 3339 time; empty when missing or unreadable (then it proves nothing). */
  static Optional<Instant> instant(String rfc3339) {
    if (rfc3339 == null || rfc3339.isBlank()) {
      return Optional.empty();
    }
    try {
      return Optional.of(OffsetDateTime.parse(rfc3339.strip()).toInstant());
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  private static String describe(Duration age) {
    return age.isNegative() ? "0 s" : age.toSeconds() + " s";
  }
}
