package io.cowherd.agent.support;

import static org.junit.jupiter.api.Assertions.fail;

import io.cowherd.agent.export.AoeSegmentProbe;
import io.cowherd.agent.export.Backoff;
import io.cowherd.agent.export.IngressGuard;
import io.cowherd.agent.export.SegmentScanner;
import io.cowherd.agent.export.VbladeSupervisor;
import io.cowherd.agent.host.CommandResult;
import io.cowherd.agent.host.ExecCommandRunner;
import io.cowherd.agent.host.HostCommand;
import io.cowherd.agent.host.Nft;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcesses;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Preconditions and helpers for {@code @Tag("host")} tests. Opting in to the tag means a missing
 * precondition FAILS the test with a message naming it (house rule), never skips it.
 */
public final class HostTools {
  private static final ExecCommandRunner RUNNER = new ExecCommandRunner();

  private HostTools() {}

  /** Fails unless the test runs as root. */
  public static void requireRoot() {
    try {
      int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      if (uid != 0) {
        fail("@Tag(\"host\") tests need root (uid 0), running as uid " + uid + ": run them with sudo or as root");
      }
    } catch (IOException e) {
      fail("cannot read /proc/self to check for root: " + e.getMessage());
    }
  }

  /** Fails unless {@code program} is installed; {@code pkg} is the Debian package to install. */
  public static Path requireProgram(String program, String pkg) {
    String path = System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin:/usr/local/sbin";
    for (String dir : path.split(":")) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, program);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return fail(program + " is required by @Tag(\"host\") tests but not installed: apt-get install -y " + pkg);
  }

  /** The vblade on this host ({@link #requireProgram}: fails the test when it is not installed). */
  public static Vblade requireVblade() {
    return new Vblade(requireProgram("vblade", "vblade").toString());
  }

  /**
   * The exporter supervisor as the agent runs it on a host, minus what a test leaves out: vblade
   * processes read from /proc, the real segment scanner ({@link SegmentScanner#ANSWER_WAIT}), the
   * system clock and {@link Backoff#DEFAULT}; no exporter listener and no exporter cgroup.
   */
  public static VbladeSupervisor hostSupervisor(Vblade vblade, ScheduledExecutorService scheduler) {
    return new VbladeSupervisor(vblade, new VbladeProcesses(Path.of("/proc"), vblade), scheduler, Clock.systemUTC(),
        Backoff.DEFAULT, changed -> {},
        new SegmentScanner(new AoeSegmentProbe(Clock.systemUTC()), Clock.systemUTC(), SegmentScanner.ANSWER_WAIT));
  }

  /**
   * {@link #hostSupervisor(Vblade, ScheduledExecutorService)} whose exporters bind where {@code links}
   * says, as the agent wires it ({@code Main}): the same links for its {@code /proc} scans and its starts.
   */
  public static VbladeSupervisor hostSupervisor(Vblade vblade, ScheduledExecutorService scheduler,
      io.cowherd.agent.host.ExporterLinks links) {
    return new VbladeSupervisor(vblade, new VbladeProcesses(Path.of("/proc"), vblade, links), scheduler,
        Clock.systemUTC(), Backoff.DEFAULT, changed -> {},
        new SegmentScanner(new AoeSegmentProbe(Clock.systemUTC()), Clock.systemUTC(), SegmentScanner.ANSWER_WAIT),
        io.cowherd.agent.host.ExporterCgroup.none(), links);
  }

  /** Runs a command for test setup; fails the test if it fails. */
  public static CommandResult run(String... argv) {
    return RUNNER.run(HostCommand.of(argv));
  }

  /** Runs a cleanup command, ignoring failure (the object may already be gone). */
  public static void runQuietly(String... argv) {
    try {
      RUNNER.run(HostCommand.of(argv));
    } catch (RuntimeException e) {
      System.err.println("cleanup: " + e.getMessage());
    }
  }

  /** A unique, short interface name prefix owned by one test: {@code cwt<6 hex>}. */
  public static String uniqueIfaceName() {
    byte[] b = new byte[3];
    ThreadLocalRandom.current().nextBytes(b);
    return "cwt" + HexFormat.of().formatHex(b);
  }

  /** Creates a veth pair {@code name} / {@code name + "p"}, both up. The test owns and deletes it. */
  public static String createVethPair() {
    String name = uniqueIfaceName();
    run("ip", "link", "add", name, "type", "veth", "peer", "name", name + "p");
    run("ip", "link", "set", name, "up");
    run("ip", "link", "set", name + "p", "up");
    return name;
  }

  /**
   * Deletes the veth pair created by {@link #createVethPair} (deleting one end removes both) and the
   * ingress guard tables an agent made on either end ({@link #removeGuardTables}).
   *
   * @throws AssertionError if a guard table of these interfaces is still there afterwards
   */
  public static void deleteVethPair(String name) {
    if (name == null) {
      return;
    }
    if (Files.exists(Path.of("/sys/class/net", name))) {
      runQuietly("ip", "link", "del", name);
    }
    removeGuardTables(name, name + "p");
  }

  /**
   * Deletes the nftables tables {@code netdev cowherd_<iface>} of exactly the interfaces named (the
   * agent's ingress guard keeps them across agent restarts by design, so a test that killed its
   * agent must remove them), then checks that none is left. Absent tables are fine; null names are
   * skipped.
   *
   * @throws AssertionError if a table of these interfaces is still there: the test leaves host state behind
   */
  public static void removeGuardTables(String... ifaces) {
    Nft nft = new Nft(RUNNER, "nft");
    List<String> left = new ArrayList<>();
    for (String iface : ifaces) {
      if (iface == null) {
        continue;
      }
      String table = IngressGuard.tableName(iface);
      try {
        nft.deleteNetdevTable(table);
      } catch (RuntimeException e) {
        System.err.println("cleanup: " + e.getMessage());
      }
      if (nft.listNetdevTable(table).isPresent()) {
        left.add(table);
      }
    }
    if (!left.isEmpty()) {
      throw new AssertionError("test leaves nftables table(s) netdev " + left + " behind on the host");
    }
  }

  /**
   * SIGKILLs every process whose argv[0] ends in {@code vblade} and whose argv mentions {@code
   * needle}, and waits (up to 5 s each) until it is gone, so its files can be unmounted.
   */
  public static void killVbladesMentioning(String needle) {
    List<ProcessHandle> victims = ProcessHandle.allProcesses()
        .filter(p -> p.info().arguments().map(List::of).orElse(List.of()).stream().anyMatch(a -> a.contains(needle)))
        .filter(p -> p.info().command().map(c -> c.endsWith("vblade")).orElse(false))
        .toList();
    for (ProcessHandle p : victims) {
      p.destroyForcibly();
      try {
        p.onExit().get(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (ExecutionException | TimeoutException e) {
        System.err.println("cleanup: vblade pid " + p.pid() + " did not exit: " + e);
      }
    }
  }
}
