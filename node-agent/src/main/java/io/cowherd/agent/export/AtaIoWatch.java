package io.cowherd.agent.export;

import io.cowherd.aoe.frame.AtaRequests;
import io.cowherd.aoe.net.PacketRing;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data path as the wire shows it: per exporter interface ONE AoE packet socket whose classic
 * BPF filter ({@link AtaRequests#bpfFilter()}) passes only ATA read and write requests, snapped to
 * their first {@value AtaRequests#SNAP_BYTES} bytes (responses, with the data a client reads, stay
 * in the kernel), into a {@code TPACKET_V3} ring ({@link PacketRing}): no system call and no
 * allocation per frame; the listener wakes once per block of requests. Each request is counted
 * against the exported slot it addresses (interface, shelf, slot) and the sender's MAC: requests
 * and bytes (Sector Count × 512) read and written, and the time of the last read and write per MAC.
 *
 * <p>Per frame the listener does a classification, two linear scans of small arrays (the
 * interface's slots, the slot's MACs) and a few volatile writes: no allocation, no lock, no
 * logging; one clock reading per batch of blocks. Frames the kernel dropped because the ring was
 * full are read from {@code PACKET_STATISTICS} once per second ({@link #droppedFrames}): the
 * exporter still got them, only the counts miss them.
 *
 * <p>A request to the broadcast shelf (0xffff) or slot (0xff) counts on every slot it matches: each
 * exporter there serves it. Requests from a MAC a slot is not bound to ({@link Exported#macs} non-empty) are not counted:
 * the exporter ignores them (vblade {@code -m}). For an unbound slot up to {@link
 * #MAX_UNBOUND_MACS} senders are tracked per MAC (all are counted); a new sender takes the place of
 * one idle for {@link #UNBOUND_IDLE_MILLIS}.
 *
 * <p>A packet socket of the AoE protocol sees frames arriving from other hosts only (see {@link
 * ControlFrameWatch}): what clients send to this node's exporters.
 */
public final class AtaIoWatch implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AtaIoWatch.class);
  /** Senders tracked per MAC on a slot not bound to MACs. */
  public static final int MAX_UNBOUND_MACS = 8;
  /**
   * Idle time after which a sender tracked on an unbound slot gives its place to a new one when
   * the table is full (ms): senders that sent once (a burst from invented MACs) do not keep the
   * slot's real client untracked for good.
   */
  public static final long UNBOUND_IDLE_MILLIS = 60_000;
  private static final Duration RECEIVE_TIMEOUT = Duration.ofMillis(500);
  private static final int BROADCAST_SHELF = 0xffff;
  private static final int BROADCAST_SLOT = 0xff;
  private static final long STATISTICS_PERIOD_MILLIS = 1000;

  /** Bytes per block of an interface's ring. */
  public static final int RING_BLOCK_BYTES = 256 << 10;
  /** Blocks per ring: 2 MiB per interface, about 14 000 request headers. */
  public static final int RING_BLOCKS = 8;
  /** Longest time the kernel holds a non-empty block: the delay of a count. */
  public static final Duration RING_BLOCK_TIMEOUT = Duration.ofMillis(100);

  /** Opens an interface's ring ({@link #ring} in production). */
  @FunctionalInterface
  public interface Opener {
    /** @throws IOException when the interface cannot be listened on */
    PacketRing open(String iface) throws IOException;
  }

  /**
   * The production ring of {@code iface}: {@link AtaRequests#bpfFilter()}, {@link #RING_BLOCKS}
   * blocks of {@link #RING_BLOCK_BYTES}, handed over at the latest after {@link #RING_BLOCK_TIMEOUT}.
   */
  public static PacketRing ring(String iface) throws IOException {
    return PacketRing.open(iface, AtaRequests.bpfFilter(), RING_BLOCK_BYTES, RING_BLOCKS, RING_BLOCK_TIMEOUT,
        AtaRequests.SNAP_BYTES);
  }

  /**
   * One exporter to watch.
   *
   * @param iface the interface it exports on
   * @param shelf AoE major
   * @param slot AoE minor
   * @param macs the MACs it serves ({@link io.cowherd.aoe.frame.MacAddress#value()}); empty: any
   */
  public record Exported(String iface, int shelf, int slot, Set<Long> macs) {}

  /** What one sender did on one slot; times in Unix milliseconds, 0 before any. */
  public static final class ClientIo {
    private final long mac;
    private volatile long lastReadMillis;
    private volatile long lastWriteMillis;

    ClientIo(long mac) {
      this.mac = mac;
    }

    /** The sender, as {@link io.cowherd.aoe.frame.MacAddress#value()}. */
    public long mac() {
      return mac;
    }

    /** When its last read request was seen (Unix ms), 0 before any. */
    public long lastReadMillis() {
      return lastReadMillis;
    }

    /** When its last write request was seen (Unix ms), 0 before any. */
    public long lastWriteMillis() {
      return lastWriteMillis;
    }
  }

  /** Counters of one exported slot; written by its interface's listener only. */
  public static final class SlotIo {
    private final int shelf;
    private final int slot;
    private volatile boolean bound;
    private volatile ClientIo[] clients = new ClientIo[0];
    private volatile long readRequests;
    private volatile long readBytes;
    private volatile long writeRequests;
    private volatile long writeBytes;
    private volatile long lastIoMillis;

    SlotIo(int shelf, int slot) {
      this.shelf = shelf;
      this.slot = slot;
    }

    /** Read requests seen. */
    public long readRequests() {
      return readRequests;
    }

    /** Bytes those read requests asked for. */
    public long readBytes() {
      return readBytes;
    }

    /** Write requests seen. */
    public long writeRequests() {
      return writeRequests;
    }

    /** Bytes those write requests carried. */
    public long writeBytes() {
      return writeBytes;
    }

    /** When the last request was seen (Unix ms), 0 before any. */
    public long lastIoMillis() {
      return lastIoMillis;
    }

    /** The senders tracked (the bound MACs, or the first ones seen on an unbound slot). */
    public List<ClientIo> clients() {
      return List.of(clients);
    }

    synchronized void bind(Set<Long> macs) {
      ClientIo[] old = clients;
      if (bound == !macs.isEmpty() && (!bound || sameMacs(old, macs))) {
        return; // unchanged (every tick re-binds every slot): no allocation
      }
      bound = !macs.isEmpty();
      List<ClientIo> next = new ArrayList<>();
      for (long mac : macs) {
        next.add(Arrays.stream(old).filter(c -> c.mac == mac).findFirst().orElseGet(() -> new ClientIo(mac)));
      }
      if (!bound) {
        next.addAll(Arrays.asList(old).subList(0, Math.min(old.length, MAX_UNBOUND_MACS)));
      }
      clients = next.toArray(ClientIo[]::new);
    }

    private static boolean sameMacs(ClientIo[] clients, Set<Long> macs) {
      if (clients.length != macs.size()) {
        return false;
      }
      int i = 0;
      for (long mac : macs) {
        if (clients[i++].mac != mac) {
          return false;
        }
      }
      return true;
    }

    /**
     * The tracked sender {@code mac}, added on first sight for an unbound slot (rare: allocates); when
     * the table is full, in place of the sender idle longest if that is {@link #UNBOUND_IDLE_MILLIS}.
     */
    private ClientIo client(long mac, long nowMillis) {
      ClientIo[] cs = clients;
      for (ClientIo c : cs) {
        if (c.mac == mac) {
          return c;
        }
      }
      if (bound) {
        return null;
      }
      synchronized (this) {
        cs = clients;
        if (bound) {
          return null;
        }
        ClientIo c = new ClientIo(mac);
        if (cs.length < MAX_UNBOUND_MACS) {
          ClientIo[] next = Arrays.copyOf(cs, cs.length + 1);
          next[cs.length] = c;
          clients = next;
          return c;
        }
        int idlest = 0;
        for (int i = 1; i < cs.length; i++) {
          if (lastSeen(cs[i]) < lastSeen(cs[idlest])) {
            idlest = i;
          }
        }
        if (nowMillis - lastSeen(cs[idlest]) >= UNBOUND_IDLE_MILLIS) {
          ClientIo[] next = cs.clone();
          next[idlest] = c;
          clients = next;
          return c;
        }
      }
      return null;
    }

    private static long lastSeen(ClientIo c) {
      return Math.max(c.lastReadMillis, c.lastWriteMillis);
    }

    /** Counts one classified request (listener thread only). */
    void count(long classified, long source, long nowMillis) {
      ClientIo c = client(source, nowMillis);
      if (c == null && bound) {
        return; // the exporter ignores this sender
      }
      long bytes = AtaRequests.bytes(classified);
      if (AtaRequests.isWrite(classified)) {
        writeRequests++;
        writeBytes += bytes;
        if (c != null) {
          c.lastWriteMillis = nowMillis;
        }
      } else {
        readRequests++;
        readBytes += bytes;
        if (c != null) {
          c.lastReadMillis = nowMillis;
        }
      }
      lastIoMillis = nowMillis;
    }
  }

  private final Opener opener;
  private final Clock clock;
  private final Map<String, Listener> listeners = new HashMap<>();
  private final Map<String, AtomicLong> dropped = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /** One interface's listener and its table of slots. */
  private final class Listener {
    final String iface;
    volatile SlotIo[] slots = new SlotIo[0];
    /** The same slots by {@link #key}, for {@link #slot} and {@link #update} (a linear search per slot per tick was O(N²)). */
    volatile Map<Integer, SlotIo> index = Map.of();
    volatile boolean stopped;
    Thread thread;

    Listener(String iface) {
      this.iface = iface;
    }

    /** Time of the frames of the blocks being read (one clock reading per {@link PacketRing#receive}). */
    private long now;
    private final PacketRing.FrameSink sink = this::seen;

    void run() {
      AtomicLong drops = dropped.computeIfAbsent(iface, i -> new AtomicLong());
      boolean failing = false;
      while (!stopped) {
        try (PacketRing ring = opener.open(iface)) {
          if (!failing) {
            LOG.info("{}: watching ATA requests from the wire", iface);
          }
          long statisticsDue = 0;
          while (!stopped) {
            now = clock.millis();
            ring.receive(sink, RECEIVE_TIMEOUT);
            if (failing) { // a down interface opens fine and fails at the first receive: not yet recovered
              LOG.info("{}: watching ATA requests from the wire again", iface);
              failing = false;
            }
            if (now >= statisticsDue) {
              drops.addAndGet(ring.takeStatistics().drops());
              statisticsDue = now + STATISTICS_PERIOD_MILLIS;
            }
          }
        } catch (IOException | RuntimeException e) {
          if (stopped) {
            return;
          }
          if (!failing) { // once per failure streak: a missing interface is retried quietly
            LOG.warn("{}: ATA request watch failed, retrying every {} ms: {}", iface, RECEIVE_TIMEOUT.toMillis(),
                e.toString());
          }
          failing = true;
          LockSupport.parkNanos(RECEIVE_TIMEOUT.toNanos());
        }
      }
    }

    private void seen(byte[] frame, int lengthBytes, int wireBytes) {
      seen(frame, lengthBytes, wireBytes, now);
    }

    private void seen(byte[] frame, int lengthBytes, int wireBytes, long now) {
      long classified = AtaRequests.classify(frame, lengthBytes, wireBytes);
      if (classified < 0) {
        return;
      }
      int shelf = AtaRequests.shelf(classified);
      int slot = AtaRequests.slot(classified);
      // Shelf 0xffff and slot 0xff address every exporter (AoEr11 §2.5); vblade serves ATA requests
      // so addressed too, so each slot that matches counts them.
      boolean anyShelf = shelf == BROADCAST_SHELF;
      boolean anySlot = slot == BROADCAST_SLOT;
      for (SlotIo s : slots) {
        if ((anyShelf || s.shelf == shelf) && (anySlot || s.slot == slot)) {
          s.count(classified, AtaRequests.source(frame), now);
          if (!anyShelf && !anySlot) {
            return;
          }
        }
      }
    }
  }

  /**
   * @param opener opens an interface's ring ({@code AtaIoWatch::ring}: the agent's network namespace)
   * @param clock time of the requests seen (one reading per batch)
   */
  public AtaIoWatch(Opener opener, Clock clock) {
    this.opener = opener;
    this.clock = clock;
  }

  /**
   * Watches exactly {@code exported}: interfaces no longer named stop their listener, new ones
   * start one; a slot keeps its counters while it stays on the same interface, shelf and slot.
   */
  public synchronized void update(Collection<Exported> exported) {
    if (closed) {
      return;
    }
    Map<String, List<Exported>> byIface = new HashMap<>();
    exported.forEach(e -> byIface.computeIfAbsent(e.iface(), i -> new ArrayList<>()).add(e));
    for (String iface : List.copyOf(listeners.keySet())) {
      if (!byIface.containsKey(iface)) {
        Listener l = listeners.remove(iface);
        l.stopped = true;
        l.thread.interrupt();
      }
    }
    byIface.forEach((iface, list) -> {
      Listener l = listeners.computeIfAbsent(iface, i -> {
        // Counted from the moment the interface is watched, not from the listener thread's first look.
        dropped.computeIfAbsent(i, k -> new AtomicLong());
        Listener n = new Listener(i);
        n.thread = Thread.ofPlatform().daemon().name("aoe-io-watch-" + i).start(n::run);
        return n;
      });
      Map<Integer, SlotIo> old = l.index;
      Map<Integer, SlotIo> next = new LinkedHashMap<>();
      boolean same = old.size() == list.size();
      for (Exported e : list) {
        int key = key(e.shelf(), e.slot());
        SlotIo s = next.get(key);
        if (s == null) {
          s = old.get(key);
          if (s == null) {
            s = new SlotIo(e.shelf(), e.slot());
            same = false;
          }
          next.put(key, s);
        }
        s.bind(e.macs());
      }
      if (!same || next.size() != old.size()) {
        l.index = Map.copyOf(next);
        l.slots = next.values().toArray(SlotIo[]::new);
      }
    });
  }

  /** The counters of the slot exported as {@code shelf.slot} on {@code iface}, while watched. */
  public Optional<SlotIo> slot(String iface, int shelf, int slot) {
    Listener l;
    synchronized (this) {
      l = listeners.get(iface);
    }
    if (l == null) {
      return Optional.empty();
    }
    return Optional.ofNullable(l.index.get(key(shelf, slot)));
  }

  /** A slot's key in {@link Listener#index}: shelf (16 bits) and slot (8 bits). */
  private static int key(int shelf, int slot) {
    return shelf << 8 | slot;
  }

  /** Whether {@code iface}'s listener runs. */
  public synchronized boolean watching(String iface) {
    Listener l = listeners.get(iface);
    return l != null && l.thread.isAlive();
  }

  /** Interfaces watched at some time since the start, for the dropped-frames counter. */
  public Set<String> interfacesSeen() {
    return Set.copyOf(dropped.keySet());
  }

  /** Frames the kernel dropped on {@code iface}'s watch socket (its queue was full), since the start. */
  public long droppedFrames(String iface) {
    AtomicLong n = dropped.get(iface);
    return n == null ? 0 : n.get();
  }

  @Override
  public synchronized void close() {
    closed = true;
    listeners.values().forEach(l -> {
      l.stopped = true;
      l.thread.interrupt();
    });
    listeners.clear();
  }
}
