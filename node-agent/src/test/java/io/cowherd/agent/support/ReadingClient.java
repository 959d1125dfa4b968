package io.cowherd.agent.support;

import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.InitiatorOptions;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A slot's real client for host tests: the project's initiator in a client namespace reading one
 * 512-byte sector after another from a target on a thread of its own, never giving up (a read that
 * times out or is refused is tried again). It keeps the longest time between two successful reads
 * since {@link #resetStall()}: the longest outage the client saw.
 */
public final class ReadingClient implements AutoCloseable {
  private final AoeInitiator initiator;
  private final AoeTarget target;
  private final Thread thread;
  private final AtomicLong reads = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong lastReadNanos = new AtomicLong(System.nanoTime());
  private final AtomicLong longestStallNanos = new AtomicLong();
  private volatile boolean stopped;

  /** Starts reading {@code target} through {@code iface} of namespace {@code ns}. */
  public ReadingClient(String ns, String iface, AoeTarget target) throws IOException {
    // 50 ms per frame, 2 retransmissions: a failed read returns within 150 ms and is tried again.
    this.initiator = AoeInitiator.openInNamespace(ns, iface,
        InitiatorOptions.defaults().withFrameTimeout(Duration.ofMillis(50)).withMaxRetries(2));
    this.target = target;
    this.thread = Thread.ofPlatform().daemon().name("reading-client").start(this::loop);
  }

  private void loop() {
    byte[] sector = new byte[512];
    long lba = 0;
    while (!stopped) {
      try {
        initiator.read(target, lba, 1, sector, 0);
        long now = System.nanoTime();
        long gap = now - lastReadNanos.getAndSet(now);
        longestStallNanos.accumulateAndGet(gap, Math::max);
        reads.incrementAndGet();
        lba = (lba + 1) % 64;
      } catch (IOException | RuntimeException e) {
        failures.incrementAndGet(); // timed out (masked out, exporter down) or refused (reserved): again
      }
    }
  }

  /** Successful reads so far. */
  public long reads() {
    return reads.get();
  }

  /** Reads that failed (and were tried again) so far. */
  public long failures() {
    return failures.get();
  }

  /** Time since the last successful read. */
  public Duration sinceLastRead() {
    return Duration.ofNanos(System.nanoTime() - lastReadNanos.get());
  }

  /** Longest time between two successful reads since the last reset, or until now if none came since. */
  public Duration longestStall() {
    return Duration.ofNanos(Math.max(longestStallNanos.get(), System.nanoTime() - lastReadNanos.get()));
  }

  /** Starts a new measurement window (from the last successful read). */
  public void resetStall() {
    longestStallNanos.set(0);
  }

  @Override
  public void close() {
    stopped = true;
    try {
      thread.join(Duration.ofSeconds(2));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    initiator.close();
  }
}
