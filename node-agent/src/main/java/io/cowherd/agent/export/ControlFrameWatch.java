package io.cowherd.agent.export;

import io.cowherd.agent.host.SlotId;
import io.cowherd.aoe.frame.AoeConstants;
import io.cowherd.aoe.frame.AoeMessage;
import io.cowherd.aoe.frame.ControlRequests;
import io.cowherd.aoe.frame.FrameDecoder;
import io.cowherd.aoe.frame.MalformedFrameException;
import io.cowherd.aoe.net.FrameChannel;
import io.cowherd.aoe.net.RawSocket;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Detection behind the {@link IngressGuard}: one listening AoE packet socket per exporter
 * interface, with a classic BPF filter ({@link ControlRequests#bpfFilter()}) so the kernel hands it
 * only state-changing control requests (MAC Mask List, Reserve/Release, Query Config set) and keeps
 * every ATA frame to itself: in steady state the listener costs one parked thread per interface
 * and no traffic. It receives what the exporters receive (a packet socket of the AoE protocol, after
 * the ingress hook), so it sees exactly the frames the guard did not drop: none while the guard is
 * on, every one while it is off.
 *
 * <p>For each such request addressed to one of our exporters (or broadcast) that would change its
 * state, the exporter is restored ({@link VbladeSupervisor#restore}: restarted at once; vblade
 * keeps mask list, reservations and config string in memory only) and the attempt is recorded
 * with the sender's MAC for status, Events and metrics.
 *
 * <p>Why not read the exporter's mask list or reservation with a query: a packet socket bound to
 * the AoE protocol does not receive frames sent from the same host (only {@code ETH_P_ALL} taps
 * see outgoing frames), so this host's initiator cannot talk to this host's vblade on the same
 * interface (seen on this machine: a Query Config from the exporter's own namespace goes
 * unanswered, the same from a peer is answered).
 */
public final class ControlFrameWatch implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ControlFrameWatch.class);
  private static final Duration RECEIVE_TIMEOUT = Duration.ofMillis(500);

  /** Opens the listening socket of an interface. */
  @FunctionalInterface
  public interface Opener {
    /** @throws IOException if the interface cannot be listened on */
    FrameChannel open(String iface) throws IOException;
  }

  /**
   * One state-changing control request seen on the wire.
   *
   * @param iface where it came in
   * @param source the sender's MAC
   * @param target the AoE address it was sent to ({@code e<shelf>.<slot>})
   * @param change what it would have changed, e.g. {@code MAC Mask List edit (add 02:..)}
   * @param at when it was seen
   */
  public record Attempt(String iface, String source, String target, String change, Instant at) {}

  private final Opener opener;
  private final VbladeSupervisor supervisor;
  private final Clock clock;
  private final Map<String, Listener> listeners = new HashMap<>();
  private final Map<String, Set<SlotId>> users = new HashMap<>();
  private final Map<SlotId, Attempt> lastAttempt = new ConcurrentHashMap<>();
  private final Map<SlotId, AtomicLong> attempts = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> restores = new ConcurrentHashMap<>();

  /** One interface's listening thread. */
  private final class Listener {
    final String iface;
    volatile boolean stopped;
    Thread thread;

    Listener(String iface) {
      this.iface = iface;
    }

    void run() {
      byte[] buffer = new byte[65536];
      while (!stopped) {
        try (FrameChannel channel = opener.open(iface)) {
          if (channel instanceof RawSocket socket) {
            socket.attachFilter(ControlRequests.bpfFilter());
          }
          LOG.info("{}: listening for AoE control requests from the wire", iface);
          while (!stopped) {
            int n = channel.receive(buffer, 0, RECEIVE_TIMEOUT);
            if (n == FrameChannel.TIMED_OUT) {
              continue;
            }
            // Take every frame already queued before acting: a burst restores each exporter once, not once a frame.
            Map<SlotId, Attempt> hit = new LinkedHashMap<>();
            do {
              seen(iface, buffer, n, hit);
              n = channel.receive(buffer, 0, Duration.ZERO);
            } while (n != FrameChannel.TIMED_OUT && !stopped);
            restore(hit);
          }
        } catch (IOException | RuntimeException e) {
          if (stopped) {
            return;
          }
          LOG.warn("{}: control frame listener failed, reopening in {} ms: {}", iface,
              RECEIVE_TIMEOUT.toMillis(), e.toString());
          parkFor(RECEIVE_TIMEOUT);
        }
      }
    }
  }

  /**
   * @param opener opens the listening socket ({@code RawSocket::open} in production: the agent's
   *     network namespace)
   * @param supervisor restores exporters and knows which slot answers which address
   */
  public ControlFrameWatch(Opener opener, VbladeSupervisor supervisor, Clock clock) {
    this.opener = opener;
    this.supervisor = supervisor;
    this.clock = clock;
  }

  /** Listens on {@code iface} for slot {@code id} (starts the interface's listener if needed). */
  public synchronized void watch(SlotId id, String iface) {
    for (var e : List.copyOf(users.entrySet())) {
      if (!e.getKey().equals(iface) && e.getValue().remove(id) && e.getValue().isEmpty()) {
        stopListener(e.getKey());
      }
    }
    users.computeIfAbsent(iface, i -> new HashSet<>()).add(id);
    restores.computeIfAbsent(iface, i -> new AtomicLong());
    if (!listeners.containsKey(iface)) {
      Listener l = new Listener(iface);
      l.thread = Thread.ofPlatform().daemon().name("aoe-control-watch-" + iface).start(l::run);
      listeners.put(iface, l);
    }
  }

  /** Slot {@code id} no longer exports; the last slot of an interface stops its listener. */
  public synchronized void release(SlotId id) {
    lastAttempt.remove(id);
    for (var e : List.copyOf(users.entrySet())) {
      if (e.getValue().remove(id) && e.getValue().isEmpty()) {
        stopListener(e.getKey());
      }
    }
  }

  /** The last state-changing request seen for slot {@code id}'s exporter. */
  public Optional<Attempt> lastAttempt(SlotId id) {
    return Optional.ofNullable(lastAttempt.get(id));
  }

  /** State-changing requests seen for slot {@code id}'s exporter since the agent started. */
  public long attempts(SlotId id) {
    AtomicLong n = attempts.get(id);
    return n == null ? 0 : n.get();
  }

  /** Interfaces watched at some time since the agent started. */
  public Set<String> interfacesSeen() {
    return Set.copyOf(restores.keySet());
  }

  /** Exporters on {@code iface} restored because of a control request since the agent started. */
  public long restores(String iface) {
    AtomicLong n = restores.get(iface);
    return n == null ? 0 : n.get();
  }

  @Override
  public synchronized void close() {
    List.copyOf(listeners.keySet()).forEach(this::stopListener);
  }

  private void stopListener(String iface) {
    users.remove(iface);
    Listener l = listeners.remove(iface);
    if (l != null) {
      l.stopped = true;
      l.thread.interrupt();
    }
  }

  /** Restores every slot a state-changing request hit, once. */
  private void restore(Map<SlotId, Attempt> hit) {
    hit.forEach((id, attempt) ->
        supervisor.restore(id, attempt.change() + " from " + attempt.source() + " to " + attempt.target()));
  }

  /** Classifies one frame; records it and adds the slots it hit (with the attempt) to {@code hit}. */
  private void seen(String iface, byte[] frame, int lengthBytes, Map<SlotId, Attempt> hit) {
    // vblade 25 does not read the AoE version (seen on this machine: a mask add of version 0, 2 or 15
    // locks the client out like one of version 1), so a request is judged as version 1 whatever it says.
    if (lengthBytes > AoeConstants.OFFSET_VERSION_FLAGS) {
      frame[AoeConstants.OFFSET_VERSION_FLAGS] =
          (byte) ((AoeConstants.AOE_VERSION << 4) | (frame[AoeConstants.OFFSET_VERSION_FLAGS] & 0x0F));
    }
    AoeMessage message;
    try {
      message = FrameDecoder.INSTANCE.decode(frame, 0, lengthBytes);
    } catch (MalformedFrameException e) {
      LOG.debug("{}: ignoring a malformed frame: {}", iface, e.getMessage());
      return;
    }
    Optional<String> change = ControlRequests.stateChange(message);
    if (change.isEmpty()) {
      return;
    }
    List<SlotId> addressed = supervisor.slotsAnswering(iface, message.target().shelf(), message.target().slot());
    Attempt attempt = new Attempt(iface, message.ethernet().source().toString(), message.target().toString(),
        change.get(), clock.instant());
    for (SlotId id : addressed) {
      supervisor.wireAttempt(id);
      lastAttempt.put(id, attempt);
      attempts.computeIfAbsent(id, k -> new AtomicLong()).incrementAndGet();
      if (hit.put(id, attempt) == null) {
        restores.computeIfAbsent(iface, k -> new AtomicLong()).incrementAndGet();
      }
    }
  }

  private static void parkFor(Duration d) {
    java.util.concurrent.locks.LockSupport.parkNanos(d.toNanos());
  }
}
