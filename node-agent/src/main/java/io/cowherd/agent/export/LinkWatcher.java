package io.cowherd.agent.export;

import io.cowherd.agent.host.Cp;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches network links through rtnetlink with {@code ip -o monitor link} (iproute2) as a
 * supervised child: every RTM_NEWLINK/RTM_DELLINK (an interface added, deleted, going up or down)
 * is one line {@code [Deleted ]<index>: <name>[@<peer>]: <flags> ...}, and the listener is told
 * the interface's name, so exporters on a returning NIC start within a second instead of waiting
 * out their restart backoff. When the child exits (it should not), it is restarted after {@link
 * #RESTART_DELAY} and the listener is told {@link Listener#resync()}, as events may have been
 * missed; {@link #start} tells it at once and again after {@link #SUBSCRIBE_GRACE}, which covers
 * changes made while the child was still opening its netlink socket (it prints nothing to say it
 * is listening).
 *
 * <p>Why a child process rather than an AF_NETLINK socket through java.lang.foreign: the message
 * parsing (nested rtattrs) is iproute2's, proven and kept, and this is not the AoE core; the
 * price is one idle process per agent. {@code -json} is not used: iproute2 6.1's monitor ignores it.
 */
public final class LinkWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LinkWatcher.class);
  /** Delay before restarting a watcher child that exited. */
  static final Duration RESTART_DELAY = Duration.ofSeconds(1);
  /** After a start, when the listener is told to resync once more. */
  static final Duration SUBSCRIBE_GRACE = Duration.ofSeconds(2);
  private static final Pattern LINE = Pattern.compile("^(?:Deleted )?\\d+: ([^:@\\s]+)(?:@[^:\\s]*)?:");

  /** Told about link changes; called on the watcher's thread, must not block long. */
  public interface Listener {
    /** Interface {@code iface} was added, deleted, or changed state. */
    void linkChanged(String iface);

    /** Changes may have been missed: look at every interface again. */
    void resync();
  }

  private final String ip;
  private final ScheduledExecutorService scheduler;
  private final Listener listener;
  private Process child;
  private boolean closed;

  /**
   * @param ip the ip(8) program (name in PATH or a path)
   * @param scheduler runs the delayed restart of the child
   */
  public LinkWatcher(String ip, ScheduledExecutorService scheduler, Listener listener) {
    this.ip = ip;
    this.scheduler = scheduler;
    this.listener = listener;
  }

  /** The interface a monitor line is about, if it is a link line. Pure. */
  public static Optional<String> interfaceOf(String line) {
    Matcher m = LINE.matcher(line);
    return m.find() ? Optional.of(m.group(1)) : Optional.empty();
  }

  /**
   * The interface to tell the listener about for monitor line {@code line}, given the last line seen
   * of each interface ({@code last}, updated): none for a line identical to that interface's last (the
   * kernel repeats a NIC's unchanged RTM_NEWLINK each time a macvlan is added to or removed from it,
   * which told every slot of the NIC to reconcile once per exporter started), and none for the agent's
   * own exporter links ({@link io.cowherd.agent.host.ExporterLinks}: an exporter whose link goes away
   * exits and is restarted by its supervisor, which remakes the link). Pure but for {@code last}.
   */
  static Optional<String> forward(String line, java.util.Map<String, String> last) {
    Optional<String> iface = interfaceOf(line);
    if (iface.isEmpty() || io.cowherd.agent.host.ExporterLinks.isLinkName(iface.get())) {
      return Optional.empty();
    }
    String state = line.startsWith("Deleted ") ? "Deleted" : line.substring(line.indexOf(':') + 1);
    return state.equals(last.put(iface.get(), state)) ? Optional.empty() : iface;
  }

  /**
   * argv of the child: {@code setpriv --pdeathsig KILL -- ip -o monitor link}, so a SIGKILLed
   * agent leaves no watcher behind (start it from a thread that lives as long as the agent).
   */
  List<String> argv() {
    return Cp.diesWithAgent(ip, "-o", "monitor", "link");
  }

  /** Starts the child and its reader; tells the listener to resync once it is running. */
  public synchronized void start() {
    if (closed) {
      return;
    }
    Process p;
    try {
      p = new ProcessBuilder(argv()).redirectInput(Redirect.from(new File("/dev/null")))
          .redirectError(Redirect.DISCARD).start();
    } catch (IOException e) {
      LOG.warn("cannot start link watcher {}: {}; retrying in {} s", argv(), e.getMessage(), RESTART_DELAY.toSeconds());
      scheduler.schedule(this::start, RESTART_DELAY.toMillis(), TimeUnit.MILLISECONDS);
      return;
    }
    child = p;
    Thread.ofVirtual().name("link-watcher").start(() -> read(p));
    LOG.info("watching links: {} (pid {})", String.join(" ", argv()), p.pid());
    listener.resync();
    scheduler.schedule(listener::resync, SUBSCRIBE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void read(Process p) {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      java.util.Map<String, String> last = new java.util.HashMap<>();
      while ((line = r.readLine()) != null) {
        forward(line, last).ifPresent(listener::linkChanged);
      }
    } catch (IOException e) {
      LOG.debug("link watcher output ended: {}", e.getMessage());
    }
    synchronized (this) {
      if (closed || child != p) {
        return;
      }
      p.destroy();
      LOG.warn("link watcher {} ended; restarting in {} s", p.pid(), RESTART_DELAY.toSeconds());
      scheduler.schedule(this::start, RESTART_DELAY.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Stops the child; no more calls to the listener after it exits. */
  @Override
  public synchronized void close() {
    closed = true;
    if (child != null) {
      child.destroy();
    }
  }
}
