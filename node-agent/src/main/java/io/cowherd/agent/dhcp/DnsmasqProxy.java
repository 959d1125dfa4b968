package io.cowherd.agent.dhcp;

import io.cowherd.agent.export.Backoff;
import io.cowherd.agent.host.Cp;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs dnsmasq (Debian package {@code dnsmasq-base}) as cowherd's proxy DHCP + TFTP server and keeps
 * it running: the configuration of {@link DhcpProxyConfig} is written to
 * {@code <stateDir>/dhcp-proxy/dnsmasq.conf}, dnsmasq runs in the foreground as a child of the agent
 * (argument vector, no shell; {@code --conf-file} so no /etc/dnsmasq.conf is read), its log lines go to
 * the agent's log, and when it exits it is started again after {@link Backoff} delays, as exporters
 * are. It is stopped with the agent (unlike exporters, a DHCP proxy keeps no client state).
 *
 * <p>Start counts as done when dnsmasq logs {@code DHCP, proxy on subnet} (dnsmasq 2.90 prints it after
 * binding its sockets); not within {@code startTimeout}, or an exit before it, is an error and
 * nothing keeps running.
 */
public final class DnsmasqProxy implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DnsmasqProxy.class);
  /** dnsmasq's log line once its proxy DHCP socket is bound. */
  static final String READY_LINE = "DHCP, proxy on subnet";
  /** How long a start may take before it counts as failed. */
  public static final Duration START_TIMEOUT = Duration.ofSeconds(10);

  private final String program;
  private final Path confFile;
  private final DhcpProxyConfig config;
  private final ScheduledExecutorService scheduler;
  private final Backoff backoff;
  private final Clock clock;
  private final Duration startTimeout;
  private volatile boolean closed;
  private Process process;
  private Instant startedAt;
  private int failures;
  private int restarts;

  private DnsmasqProxy(String program, Path confFile, DhcpProxyConfig config, ScheduledExecutorService scheduler,
      Backoff backoff, Clock clock, Duration startTimeout) {
    this.program = program;
    this.confFile = confFile;
    this.config = config;
    this.scheduler = scheduler;
    this.backoff = backoff;
    this.clock = clock;
    this.startTimeout = startTimeout;
  }

  /**
   * Writes the configuration and starts dnsmasq, waiting until it serves.
   *
   * @param program the dnsmasq program (name in PATH or a path)
   * @param stateDir the agent's state directory; the config goes to {@code dhcp-proxy/dnsmasq.conf} below it
   * @param scheduler runs restarts
   * @throws IOException when the config cannot be written, dnsmasq cannot be started, exits during
   *     start (its last log lines in the message: a port in use, a missing interface), or is not
   *     serving within {@code startTimeout}
   */
  public static DnsmasqProxy start(String program, Path stateDir, DhcpProxyConfig config,
      ScheduledExecutorService scheduler, Backoff backoff, Clock clock, Duration startTimeout)
      throws IOException, InterruptedException {
    DnsmasqProxy proxy = prepared(program, stateDir, config, scheduler, backoff, clock, startTimeout);
    proxy.startOnce();
    return proxy;
  }

  /** Writes the config, kills a dnsmasq a previous agent left with it, and makes the (not started) proxy. */
  private static DnsmasqProxy prepared(String program, Path stateDir, DhcpProxyConfig config,
      ScheduledExecutorService scheduler, Backoff backoff, Clock clock, Duration startTimeout) throws IOException {
    Path dir = stateDir.resolve("dhcp-proxy");
    Files.createDirectories(dir);
    Path conf = dir.resolve("dnsmasq.conf");
    Files.writeString(conf, config.dnsmasqConf(), StandardCharsets.UTF_8);
    DnsmasqProxy proxy = new DnsmasqProxy(program, conf, config, scheduler, backoff, clock, startTimeout);
    killLeftovers(Path.of("/proc"), conf);
    return proxy;
  }

  /**
   * Like {@link #start}, but a dnsmasq that cannot start now (a port in use, the interface not up
   * yet) is logged as an error and tried again with {@code backoff}, as after an exit: the node's
   * slots are managed either way, and proxy DHCP comes up when the host lets it.
   *
   * @throws IOException when the config cannot be written (the state dir is unusable: nothing works)
   */
  public static DnsmasqProxy startOrRetry(String program, Path stateDir, DhcpProxyConfig config,
      ScheduledExecutorService scheduler, Backoff backoff, Clock clock, Duration startTimeout)
      throws IOException, InterruptedException {
    DnsmasqProxy proxy = prepared(program, stateDir, config, scheduler, backoff, clock, startTimeout);
    try {
      proxy.startOnce();
    } catch (IOException e) {
      proxy.retryLater("proxy DHCP is not serving", e);
    }
    return proxy;
  }

  /**
   * Kills every dnsmasq still running with {@code --conf-file=<conf>} (read from
   * {@code <proc>/<pid>/cmdline}): one a previous agent left behind. {@code setpriv --pdeathsig} does
   * not cover it: dnsmasq drops root for user {@code dnsmasq}, and a credential change clears the
   * parent-death signal (prctl(2), PR_SET_PDEATHSIG), so an agent killed with SIGKILL leaves its
   * dnsmasq running (seen here). Waits up to 5 s for each to exit.
   */
  static void killLeftovers(Path proc, Path conf) {
    String marker = "--conf-file=" + conf;
    try (var pids = Files.list(proc)) {
      for (Path dir : pids.filter(d -> d.getFileName().toString().matches("[0-9]+")).toList()) {
        List<String> argv;
        try {
          argv = List.of(new String(Files.readAllBytes(dir.resolve("cmdline")), StandardCharsets.UTF_8).split("\0"));
        } catch (IOException e) {
          continue; // gone meanwhile
        }
        if (!argv.isEmpty() && argv.getFirst().endsWith("dnsmasq") && argv.contains(marker)) {
          long pid = Long.parseLong(dir.getFileName().toString());
          LOG.warn("killing dnsmasq pid {} left behind with {}", pid, marker);
          ProcessHandle.of(pid).ifPresent(h -> {
            h.destroyForcibly();
            h.onExit().completeOnTimeout(h, 5, TimeUnit.SECONDS).join();
          });
        }
      }
    } catch (IOException e) {
      LOG.warn("cannot scan {} for a leftover dnsmasq: {}", proc, e.getMessage());
    }
  }

  /**
   * The argument vector dnsmasq runs with: under {@code setpriv --pdeathsig KILL} ({@link Cp#diesWithAgent}),
   * which covers the moment before dnsmasq drops root; after that, {@link #killLeftovers} at the next
   * start does.
   */
  List<String> argv() {
    return Cp.diesWithAgent(program, "--keep-in-foreground", "--conf-file=" + confFile, "--log-facility=-",
        "--pid-file=");
  }

  /** Times dnsmasq was restarted after an exit. */
  public synchronized int restarts() {
    return restarts;
  }

  /** The running dnsmasq's pid, or -1 while it is between restarts. */
  public synchronized long pid() {
    return process != null && process.isAlive() ? process.pid() : -1;
  }

  private void startOnce() throws IOException, InterruptedException {
    Process p = new ProcessBuilder(argv()).redirectErrorStream(true).start();
    CountDownLatch ready = new CountDownLatch(1);
    StringBuilder early = new StringBuilder();
    Thread.ofVirtual().name("dnsmasq-log").start(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          LOG.info("dnsmasq: {}", line);
          if (ready.getCount() > 0) {
            synchronized (early) {
              early.append(line).append('\n');
            }
            if (line.contains(READY_LINE)) {
              ready.countDown();
            }
          }
        }
      } catch (IOException e) {
        // the process is gone
      }
    });
    boolean serving = ready.await(startTimeout.toMillis(), TimeUnit.MILLISECONDS);
    if (!serving || !p.isAlive()) {
      p.destroyForcibly();
      p.waitFor(5, TimeUnit.SECONDS);
      String out;
      synchronized (early) {
        out = early.toString().strip();
      }
      throw new IOException("dnsmasq (proxy DHCP on " + config.iface() + ") "
          + (p.isAlive() ? "was not serving within " + startTimeout.toSeconds() + " s" : "exited during start")
          + (out.isEmpty() ? "" : ": " + out));
    }
    synchronized (this) {
      if (closed) {
        p.destroy();
        return;
      }
      process = p;
      startedAt = clock.instant();
    }
    LOG.info("proxy DHCP on {} ({}/{}): PXE firmware gets {} / {} over TFTP, iPXE gets {} (dnsmasq pid {})",
        config.iface(), config.address().getHostAddress(), config.prefixLength(), DhcpProxyConfig.BIOS_BOOT_FILE,
        DhcpProxyConfig.UEFI_BOOT_FILE, config.bootUrl(), p.pid());
    p.onExit().thenRun(() -> exited(p));
  }

  private void exited(Process p) {
    Duration delay;
    synchronized (this) {
      if (closed || p != process) {
        return;
      }
      Duration ran = Duration.between(startedAt, clock.instant());
      failures = backoff.wasStable(ran) ? 1 : failures + 1;
      delay = backoff.delay(failures);
      process = null;
    }
    LOG.warn("dnsmasq (proxy DHCP on {}) exited with {}; restarting in {} ms", config.iface(), p.exitValue(),
        delay.toMillis());
    scheduler.schedule(this::restart, delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** A start failed: counts it and tries {@link #restart} again after the backoff for that many failures. */
  private void retryLater(String what, IOException e) {
    Duration delay;
    synchronized (this) {
      failures++;
      delay = backoff.delay(failures);
    }
    LOG.error("{}: {}; next try in {} ms", what, e.getMessage(), delay.toMillis());
    if (!closed) {
      scheduler.schedule(this::restart, delay.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void restart() {
    if (closed) {
      return;
    }
    try {
      synchronized (this) {
        restarts++;
      }
      startOnce();
    } catch (IOException e) {
      retryLater("restarting dnsmasq failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops dnsmasq (SIGTERM, then SIGKILL after 5 s) and any further restart. */
  @Override
  public void close() {
    Process p;
    synchronized (this) {
      closed = true;
      p = process;
      process = null;
    }
    if (p != null && p.isAlive()) {
      p.destroy();
      try {
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
    }
  }
}
