package io.cowherd.e2e.support;

import io.cowherd.aoe.frame.AoeMessage;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.EthernetHeader;
import io.cowherd.aoe.frame.FrameDecoder;
import io.cowherd.aoe.frame.FrameEncoder;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.aoe.frame.MalformedFrameException;
import io.cowherd.aoe.frame.QueryConfigMessage;
import io.cowherd.aoe.net.FrameChannel;
import io.cowherd.aoe.net.NetNs;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Watches an AoE segment for duplicate exporters for as long as it runs: from a raw socket on
 * {@code interfaceName} in a client namespace of the segment (cowherd's {@link NetNs#openRawSocket}),
 * every {@code period} it broadcasts a Query Config (read) to every shelf and slot and collects the
 * answers to that round's tag until the next round. A round in which one target answers more than
 * once, from two MACs (two hosts export it) or twice from one MAC (one host runs two exporters of
 * it), is a violation (AoEr11 §4: every exporter of an address answers a broadcast Query Config).
 * Answers to earlier rounds (late under load) and to other initiators' tags are not counted.
 */
public final class WireMonitor implements AutoCloseable {
  /** High bits of this monitor's tags, so they do not meet the node agents' own scans' tags. */
  private static final int TAG_BASE = 0x5EE00000;

  private final FrameChannel channel;
  private final Duration period;
  private final Thread thread;
  private final List<Duplicate> violations = new CopyOnWriteArrayList<>();
  private volatile boolean running = true;
  private boolean closed;
  private volatile Round last;
  private volatile IOException failure;
  private int rounds;

  /**
   * A target that answered one round more than once.
   *
   * @param round round number
   * @param sent when that round's Query Config went out
   * @param target the target
   * @param macs the MAC of every answer, in arrival order (two equal ones: two exporters on one NIC)
   */
  public record Duplicate(long round, Instant sent, AoeTarget target, List<MacAddress> macs) {
    public Duplicate {
      macs = List.copyOf(macs);
    }

    @Override
    public String toString() {
      return "round " + round + " at " + sent + ": " + target + " answered " + macs.size() + " times, from " + macs;
    }
  }

  /**
   * The answers to one round.
   *
   * @param number round number, from 1
   * @param sent when the Query Config went out
   * @param answers every answering MAC per target, one entry per answer (in arrival order)
   */
  public record Round(long number, Instant sent, Map<AoeTarget, List<MacAddress>> answers) {}

  private WireMonitor(FrameChannel channel, Duration period) {
    this.channel = channel;
    this.period = period;
    this.thread = Thread.ofPlatform().daemon().name("wire-monitor").unstarted(this::run);
  }

  /**
   * Opens the raw socket in {@code netns} on {@code interfaceName} and starts the rounds.
   *
   * @throws IOException when the socket cannot be opened (not root, no such namespace or interface)
   */
  public static WireMonitor start(String netns, String interfaceName, Duration period) throws IOException {
    WireMonitor monitor = new WireMonitor(NetNs.openRawSocket(netns, interfaceName), period);
    monitor.thread.start();
    return monitor;
  }

  private void run() {
    byte[] buffer = new byte[65536];
    try {
      while (running) {
        rounds++;
        int tag = TAG_BASE | (rounds & 0xFFFFF);
        Instant sent = Instant.now();
        byte[] frame = FrameEncoder.INSTANCE.encode(QueryConfigMessage.readRequest(
            new EthernetHeader(MacAddress.BROADCAST, channel.localAddress()), AoeTarget.BROADCAST, tag));
        channel.send(frame, 0, frame.length);
        Map<AoeTarget, List<MacAddress>> answers = new TreeMap<>();
        long deadline = System.nanoTime() + period.toNanos();
        for (long left = period.toNanos(); left > 0 && running; left = deadline - System.nanoTime()) {
          int n = channel.receive(buffer, 0, Duration.ofNanos(left));
          if (n == FrameChannel.TIMED_OUT) {
            continue;
          }
          AoeMessage message;
          try {
            message = FrameDecoder.INSTANCE.decode(buffer, 0, n);
          } catch (MalformedFrameException e) {
            continue;
          }
          if (message instanceof QueryConfigMessage reply && reply.isResponse() && reply.tag() == tag
              && !reply.header().errorFlag() && !reply.target().isBroadcast()) {
            answers.computeIfAbsent(reply.target(), t -> new ArrayList<>()).add(reply.ethernet().source());
          }
        }
        long round = rounds;
        answers.forEach((target, macs) -> {
          if (macs.size() > 1) {
            violations.add(new Duplicate(round, sent, target, macs));
          }
        });
        last = new Round(rounds, sent, Map.copyOf(answers));
      }
    } catch (IOException e) {
      failure = e;
    }
  }

  /**
   * The first complete round whose Query Config went out after this call.
   *
   * @throws IllegalStateException when the monitor failed or no round completes within 10 s
   */
  public Round nextRound() {
    Instant asked = Instant.now();
    org.awaitility.Awaitility.await("a wire monitor round after " + asked).atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(20))
        .failFast("the wire monitor failed", () -> failure != null || !thread.isAlive())
        .until(() -> last != null && !last.sent().isBefore(asked));
    return last;
  }

  /** Every duplicate seen so far, one per round and target (empty: none). */
  public List<Duplicate> violations() {
    return List.copyOf(violations);
  }

  /**
   * Rounds completed so far.
   *
   * @throws IllegalStateException when the monitor stopped on an I/O error (with it as the cause)
   */
  public long rounds() {
    if (failure != null) {
      throw new IllegalStateException("the wire monitor stopped", failure);
    }
    Round r = last;
    return r == null ? 0 : r.number();
  }

  /** Stops the rounds and closes the socket; a second call does nothing. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    running = false;
    try {
      thread.join(period.multipliedBy(4).toMillis() + 1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    channel.close();
  }
}
