package io.cowherd.agent.export;

import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.aoe.frame.MacAddress;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The wire check for duplicate exporters: asks the segment which MACs answer for a target, with
 * ONE broadcast Query Config per interface shared by every slot on it. A scan is reused while it
 * is younger than the caller's {@code maxAge}: {@link #BEFORE_START} before an exporter starts
 * (so bringing up 32 slots costs one or two scans, not 32), {@link #WHILE_RUNNING} for the
 * periodic re-check of running exporters. Callers needing a scan of one interface at the same
 * time wait for the one in flight and share it; a caller whose window the last scan still fits
 * never waits for one in flight. During a bring-up the next scan is sent ahead, in the background,
 * once the last one is in the older half of a start's window ({@link #refreshAhead}).
 *
 * <p>Answers from the interface's own MAC are this host's exporters on that interface: they are
 * told apart by {@code /proc} ({@link io.cowherd.agent.host.VbladeProcesses}), not here. Any other
 * MAC answering for the target is another exporter on the segment: another host, or another NIC
 * of this host bridged to it.
 *
 * <p>An interface that does not exist has no segment: no duplicate is reported for it (vblade
 * fails on it by itself) and the next call probes again.
 *
 * <p>Limits: an exporter that does not answer broadcasts ({@code vblade -m} with a MAC list
 * excluding ours) is invisible, as it is to every initiator not on its list; one that starts after
 * the scan is seen by the next periodic scan.
 */
public final class SegmentScanner {
  private static final Logger LOG = LoggerFactory.getLogger(SegmentScanner.class);
  /** How long answers are collected after the broadcast (vblade answers within microseconds). */
  public static final Duration ANSWER_WAIT = Duration.ofMillis(400);
  /** Oldest scan trusted before starting (or adopting) an exporter. */
  public static final Duration BEFORE_START = Duration.ofSeconds(2);
  /** Oldest scan trusted for an exporter already running (the periodic re-check). */
  public static final Duration WHILE_RUNNING = Duration.ofSeconds(30);

  private static final MacAddress NO_MAC = new MacAddress(0);

  private final SegmentProbe probe;
  private final Clock clock;
  private final Duration answerWait;
  private final Map<String, Interface> interfaces = new ConcurrentHashMap<>();

  /** One interface's last scan; its monitor serialises scans of that interface. */
  private static final class Interface {
    /** Written under the monitor; read without it when it is fresh enough for the caller. */
    volatile SegmentScan last;
    long scans;
    /** A refresh ahead ({@link #refreshAhead}) is in flight. */
    final java.util.concurrent.atomic.AtomicBoolean refreshing = new java.util.concurrent.atomic.AtomicBoolean();
  }

  /**
   * @param probe sends the broadcast
   * @param clock decides how old a scan is
   * @param answerWait how long each scan collects answers ({@link #ANSWER_WAIT} in production)
   */
  public SegmentScanner(SegmentProbe probe, Clock clock, Duration answerWait) {
    this.probe = probe;
    this.clock = clock;
    this.answerWait = answerWait;
  }

  /**
   * Other exporters of {@code target}'s shelf and slot answering on its interface, from a scan no
   * older than {@code maxAge} (made now if the last one is older).
   *
   * @throws SegmentScanException if the interface cannot be probed
   */
  public Optional<DuplicateExporter> duplicateOf(VbladeTarget target, Duration maxAge) {
    return duplicateOf(target, clock.instant().minus(maxAge));
  }

  /**
   * Other exporters of {@code target}'s shelf and slot answering on its interface, from a scan sent
   * at or after {@code notBefore} (made now if the last one is older): after an exporter of ours
   * was stopped (an interface change), only a scan sent after the stop tells whether the target is
   * free, and slots moving together still share one.
   *
   * @throws SegmentScanException if the interface cannot be probed
   */
  public Optional<DuplicateExporter> duplicateOf(VbladeTarget target, Instant notBefore) {
    SegmentScan scan = scanSince(target.iface(), notBefore);
    List<MacAddress> foreign = scan.foreignExporters(target.shelf(), target.slot());
    return foreign.isEmpty()
        ? Optional.empty()
        : Optional.of(new DuplicateExporter(target.aoeName(), target.iface(), foreign));
  }

  /** Now, on the clock that stamps scans: the {@code notBefore} to pass after stopping an exporter. */
  public Instant now() {
    return clock.instant();
  }

  /**
   * The last scan of {@code iface} if younger than {@code maxAge}, else a new one.
   *
   * @throws SegmentScanException if the interface cannot be probed
   */
  public SegmentScan scan(String iface, Duration maxAge) {
    return scanSince(iface, clock.instant().minus(maxAge));
  }

  private SegmentScan scanSince(String iface, Instant notBefore) {
    Interface state = interfaces.computeIfAbsent(iface, i -> new Interface());
    SegmentScan known = state.last;
    if (known != null && !known.scannedAt().isBefore(notBefore)) {
      refreshAhead(iface, state, known, notBefore);
      return known; // not waiting for a scan in flight that the caller does not need
    }
    synchronized (state) {
      Instant now = clock.instant();
      if (state.last != null && !state.last.scannedAt().isBefore(notBefore)) {
        return state.last;
      }
      try {
        SegmentScan scan;
        try {
          scan = probe.probe(iface, answerWait);
        } catch (InterfaceMissingException e) {
          LOG.debug("{}: no segment to check: {}", iface, e.getMessage());
          return new SegmentScan(iface, NO_MAC, List.of(), now); // not kept: probe again once it exists
        }
        state.last = scan;
        state.scans++;
        LOG.debug("segment scan {} on {}: {} answer(s) in {} ms", state.scans, iface, scan.answers().size(),
            answerWait.toMillis());
        return scan;
      } catch (IOException | RuntimeException e) {
        throw new SegmentScanException("cannot check " + iface + " for other exporters (broadcast Query Config): "
            + e.getMessage(), e);
      }
    }
  }

  /**
   * A caller needing a scan at most {@link #BEFORE_START} old (a start or adoption is near) got one
   * from the older half of its window: a new scan is sent now on a virtual thread, so that the
   * next starts of a bring-up find a fresh scan instead of each batch waiting {@link #ANSWER_WAIT}
   * for one (a stall of every reconcile thread every {@link #BEFORE_START}, issue 11). Callers
   * with a longer window (the periodic re-check of running exporters) never trigger one, so an
   * idle node sends no more broadcasts than before; at most one refresh per interface is in flight.
   */
  private void refreshAhead(String iface, Interface state, SegmentScan known, Instant notBefore) {
    Instant now = clock.instant();
    Duration window = Duration.between(notBefore, now);
    if (window.compareTo(BEFORE_START) > 0 || known.scannedAt().isAfter(notBefore.plus(window.dividedBy(2)))
        || !state.refreshing.compareAndSet(false, true)) {
      return;
    }
    Thread.ofVirtual().name("segment-refresh-" + iface).start(() -> {
      try {
        scanSince(iface, now);
      } catch (SegmentScanException e) {
        LOG.debug("{}: refresh ahead failed (the next caller scans itself): {}", iface, e.getMessage());
      } finally {
        state.refreshing.set(false);
      }
    });
  }

  /** Broadcasts sent on {@code iface} so far (for tests and benchmarks). */
  public long scansOf(String iface) {
    Interface state = interfaces.get(iface);
    if (state == null) {
      return 0;
    }
    synchronized (state) {
      return state.scans;
    }
  }
}
