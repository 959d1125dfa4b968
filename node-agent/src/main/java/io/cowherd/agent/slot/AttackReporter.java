package io.cowherd.agent.slot;

import io.cowherd.agent.export.ControlFrameWatch;
import io.cowherd.agent.export.GuardState;
import io.cowherd.agent.export.IngressGuard;
import io.cowherd.agent.host.SlotId;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Turns what the {@link IngressGuard} dropped and what the {@link ControlFrameWatch} caught on a
 * slot's interface into Warning Events on the slot, naming the offending MAC(s): at most one
 * Event per slot and kind per {@link #EVENT_INTERVAL} (later ones sum up everything since the last),
 * none while nothing new happens, so a steady state and a long attack both make few API writes.
 * Also one Warning when the slot's guard is (or goes) off.
 */
public final class AttackReporter {
  /** Shortest time between two Events of one kind on one slot. */
  public static final Duration EVENT_INTERVAL = Duration.ofMinutes(5);
  /** Event reason: the guard dropped control frames on the slot's interface. */
  public static final String DROPPED = "ControlFramesDropped";
  /** Event reason: a control frame reached the exporter and it was restarted to undo it. */
  public static final String RESTORED = "ExporterRestored";
  /** Event reason: the slot's interface has no guard. */
  public static final String GUARD_OFF = "IngressGuardOff";

  private final IngressGuard guard;
  private final ControlFrameWatch watch;
  private final SlotEventRecorder events;
  private final Clock clock;
  private final Map<SlotId, Reported> reported = new ConcurrentHashMap<>();

  /** What was last put into Events for one slot. */
  private record Reported(long dropped, Instant droppedAt, long attempts, Instant attemptsAt, boolean guardOff) {}

  public AttackReporter(IngressGuard guard, ControlFrameWatch watch, SlotEventRecorder events, Clock clock) {
    this.guard = guard;
    this.watch = watch;
    this.events = events;
    this.clock = clock;
  }

  /** Records the Events due for slot {@code id} exporting on {@code iface}; records nothing if none is due. */
  public void report(AoeBootSlot slot, SlotId id, String iface) {
    Instant now = clock.instant();
    Reported last = reported.getOrDefault(id, new Reported(0, Instant.EPOCH, 0, Instant.EPOCH, false));
    Optional<GuardState> g = guard.state(iface);
    long dropped = g.map(GuardState::droppedTotal).orElse(0L);
    long attempts = watch.attempts(id);
    Reported next = last;
    if (g.isPresent() && !g.get().active() && !last.guardOff()) {
      events.record(slot, SlotEventRecorder.WARNING, GUARD_OFF, g.get().message()
          + "; any host on the segment can lock, reserve or crash this exporter until it is restarted");
      next = new Reported(next.dropped(), next.droppedAt(), next.attempts(), next.attemptsAt(), true);
    } else if (g.isPresent() && g.get().active() && last.guardOff()) {
      next = new Reported(next.dropped(), next.droppedAt(), next.attempts(), next.attemptsAt(), false);
    }
    if (dropped > next.dropped() && !now.isBefore(next.droppedAt().plus(EVENT_INTERVAL))) {
      GuardState s = g.orElseThrow();
      String counts = s.droppedFrames().entrySet().stream().filter(e -> e.getValue() > 0)
          .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "));
      events.record(slot, SlotEventRecorder.WARNING, DROPPED, "ingress guard on " + iface + " dropped "
          + (dropped - next.dropped()) + " AoE control request(s) (since the agent started: " + counts + ") from MAC "
          + (s.offenders().isEmpty() ? "(expired)" : String.join(", ", s.offenders()))
          + "; the exporter never saw them");
      next = new Reported(dropped, now, next.attempts(), next.attemptsAt(), next.guardOff());
    }
    if (attempts > next.attempts() && !now.isBefore(next.attemptsAt().plus(EVENT_INTERVAL))) {
      Optional<ControlFrameWatch.Attempt> a = watch.lastAttempt(id);
      events.record(slot, SlotEventRecorder.WARNING, RESTORED, (attempts - next.attempts())
          + " state-changing AoE control request(s) reached the exporter; last: " + a.map(x -> x.change()
              + " from MAC " + x.source() + " to " + x.target() + " on " + x.iface()).orElse("(unknown)")
          + "; the exporter was restarted to undo it");
      next = new Reported(next.dropped(), next.droppedAt(), attempts, now, next.guardOff());
    }
    if (!next.equals(last)) {
      reported.put(id, next);
    }
  }

  /** Forgets slot {@code id} (deleted). */
  public void forget(SlotId id) {
    reported.remove(id);
  }
}
