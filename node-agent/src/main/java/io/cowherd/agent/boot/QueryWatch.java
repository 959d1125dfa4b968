package io.cowherd.agent.boot;

import static io.cowherd.aoe.frame.Bpf.JEQ_K;
import static io.cowherd.aoe.frame.Bpf.JSET_K;
import static io.cowherd.aoe.frame.Bpf.LD_ABS_BYTE;
import static io.cowherd.aoe.frame.Bpf.RET_K;
import static io.cowherd.aoe.frame.Bpf.insn;

import io.cowherd.aoe.frame.AoeCommand;
import io.cowherd.aoe.frame.AoeConstants;
import io.cowherd.aoe.net.RawSocket;
import io.cowherd.api.MacAddress;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The boot stage "queried" from the wire: one AoE packet socket per interface whose classic BPF
 * filter ({@link #bpfFilter()}) passes only Query Config requests (AoE spec rev 11, 3.2: command
 * 1, response flag clear), what an initiator sends to discover targets (iPXE's {@code sanboot
 * aoe:}, Linux's {@code aoe} driver). Every ATA frame stays in the kernel, so the data path does
 * not pay for this watch. Each sender's MAC is reported at most once per {@link #DEBOUNCE}.
 *
 * <p>Seen frames are those arriving on the interface from other hosts (a packet socket of the AoE
 * protocol does not see frames sent by this host, see {@code ControlFrameWatch}).
 */
public final class QueryWatch implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(QueryWatch.class);
  /** Shortest time between two reports of one MAC. */
  public static final Duration DEBOUNCE = Duration.ofSeconds(5);
  private static final Duration RECEIVE_TIMEOUT = Duration.ofMillis(500);
  private static final int MAX_REMEMBERED = 4096;

  /** Opens an interface's socket (the real one: {@link RawSocket#open}). */
  @FunctionalInterface
  public interface Opener {
    /** @throws IOException when the interface cannot be listened on */
    RawSocket open(String iface) throws IOException;
  }

  private final Opener opener;
  private final BiConsumer<MacAddress, Instant> onQuery;
  private final Clock clock;
  private final Map<String, Thread> listeners = new ConcurrentHashMap<>();
  private final Map<MacAddress, Instant> lastReported = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /**
   * @param onQuery called with the sender's MAC and the time, on a listener thread; must not block
   */
  public QueryWatch(Opener opener, BiConsumer<MacAddress, Instant> onQuery, Clock clock) {
    this.opener = opener;
    this.onQuery = onQuery;
    this.clock = clock;
  }

  /** Starts watching {@code iface} unless already watching it. */
  public void watch(String iface) {
    if (closed) {
      return;
    }
    listeners.computeIfAbsent(iface, i -> Thread.ofPlatform().daemon().name("aoe-queries-" + i).start(() -> listen(i)));
  }

  /** Whether {@code iface} is watched (its listener thread is alive). */
  public boolean watching(String iface) {
    Thread t = listeners.get(iface);
    return t != null && t.isAlive();
  }

  private void listen(String iface) {
    try (RawSocket socket = opener.open(iface)) {
      socket.attachFilter(bpfFilter());
      byte[] frame = new byte[2048];
      while (!closed) {
        int n = socket.receive(frame, 0, RECEIVE_TIMEOUT);
        if (n >= 12) {
          source(frame).ifPresent(this::report);
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.warn("not watching AoE queries on {}: {}", iface, e.getMessage());
    } finally {
      listeners.remove(iface);
    }
  }

  private void report(MacAddress mac) {
    Instant now = clock.instant();
    Instant before = lastReported.get(mac);
    if (before != null && before.plus(DEBOUNCE).isAfter(now)) {
      return;
    }
    if (lastReported.size() >= MAX_REMEMBERED) {
      lastReported.clear();
    }
    lastReported.put(mac, now);
    onQuery.accept(mac, now);
  }

  /** The Ethernet source MAC of {@code frame} (bytes 6 to 11), if it is a unicast address. */
  static Optional<MacAddress> source(byte[] frame) {
    byte[] src = Arrays.copyOfRange(frame, 6, 12);
    if ((src[0] & 1) != 0) {
      return Optional.empty();
    }
    return Optional.of(MacAddress.of(src));
  }

  /**
   * Classic BPF: accept AoE Query Config requests (command byte {@link AoeCommand#QUERY_CONFIG},
   * response flag clear), drop everything else, ATA frames included.
   */
  public static long[] bpfFilter() {
    return new long[] {
        insn(LD_ABS_BYTE, 0, 0, AoeConstants.OFFSET_VERSION_FLAGS), // 0
        insn(JSET_K, 2, 0, AoeConstants.FLAG_RESPONSE), //             1: response -> 4 (drop)
        insn(LD_ABS_BYTE, 0, 0, AoeConstants.OFFSET_COMMAND), //       2
        insn(JEQ_K, 1, 0, AoeCommand.QUERY_CONFIG.code()), //          3: -> 5 (accept), else 4
        insn(RET_K, 0, 0, 0), //                                       4: drop
        insn(RET_K, 0, 0, 64), //                                      5: accept the first 64 bytes
    };
  }

  @Override
  public void close() {
    closed = true;
  }
}
