package io.cowherd.e2e.kernel;

import io.cowherd.e2e.support.Commands;
import io.cowherd.e2e.support.Lab;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs one command in a fresh QEMU guest booted from Debian's kernel through {@code
 * hack/vm/run-in-vm.sh} (docs/kernel-tests.md): this host's root filesystem is the guest's
 * read-only root, so the host's JDK, the jars and classes built by Maven and the host's tools
 * (losetup, dmsetup, vblade, ip) are all there; {@link Builder#share} directories are writable.
 *
 * <p>Never skips: when QEMU or the kernel are missing the harness installs them, and when that
 * fails {@link #run} throws with the harness output, which names the package.
 */
public final class GuestVm {
  /** The guest reaches a {@link Builder#forward forwarded} host port on this address. */
  public static final String FORWARD_ADDRESS = "10.0.2.100";

  private final Path repo;
  private final int memoryMiB;
  private final List<Path> shares;
  private final List<Integer> forwards;
  private final Map<String, String> hosts;
  private final Map<String, String> env;
  private final Duration timeout;
  private final Path disk;
  private final String tap;

  private GuestVm(Builder b) {
    this.repo = b.repo;
    this.memoryMiB = b.memoryMiB;
    this.shares = List.copyOf(b.shares);
    this.forwards = List.copyOf(b.forwards);
    this.hosts = Map.copyOf(b.hosts);
    this.env = Map.copyOf(b.env);
    this.timeout = b.timeout;
    this.disk = b.disk;
    this.tap = b.tap;
  }

  /** A guest with 1536 MiB, no shares, no network, a 10 minute limit. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The result of one guest run.
   *
   * @param exitCode the command's exit code; 124 if the guest ran past its timeout, 125 if the
   *     guest did not get to run the command
   * @param output the command's stdout and stderr, merged, then the harness's own messages
   * @param elapsed wall time of the whole run, boot included
   */
  public record Result(int exitCode, String output, Duration elapsed) {}

  /**
   * Boots a guest, runs {@code argv} in it and returns when the guest is gone. Output lines are
   * echoed to this JVM's stdout as they come, prefixed with {@code [guest]}.
   *
   * @throws IllegalStateException if the harness cannot prepare the guest (message has its output)
   */
  public Result run(List<String> argv) {
    return start(argv).await();
  }

  /**
   * Boots a guest that runs {@code argv} and returns at once: the caller may watch its output
   * ({@link Running#awaitLine}), cut its power ({@link Running#killQemu}) and then {@link
   * Running#await} it.
   *
   * @throws IllegalStateException if the harness cannot prepare the guest (message has its output)
   */
  public Running start(List<String> argv) {
    prepare();
    List<String> cmd = new ArrayList<>();
    cmd.add(repo.resolve("hack/vm/run-in-vm.sh").toString());
    cmd.addAll(List.of("--mem", Integer.toString(memoryMiB), "--timeout", Long.toString(timeout.toSeconds())));
    guestShares(repo, shares).forEach(s -> cmd.addAll(List.of("--share", s.toString())));
    forwards.forEach(p -> cmd.addAll(List.of("--forward", p.toString())));
    hosts.forEach((name, address) -> cmd.addAll(List.of("--add-host", name + "=" + address)));
    env.forEach((k, v) -> cmd.addAll(List.of("--env", k + "=" + v)));
    if (disk != null) {
      cmd.addAll(List.of("--disk", disk.toString()));
    }
    if (tap != null) {
      cmd.addAll(List.of("--tap", tap));
    }
    cmd.add("--");
    cmd.addAll(argv);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    long started = System.nanoTime();
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + cmd.getFirst(), e);
    }
    return new Running(p, started, timeout);
  }

  /** A guest booting or running; its output is collected as it comes. */
  public static final class Running {
    private final Process process;
    private final long startedNanos;
    private final Duration timeout;
    private final StringBuilder output = new StringBuilder();
    private final CompletableFuture<Void> pump;

    private Running(Process process, long startedNanos, Duration timeout) {
      this.process = process;
      this.startedNanos = startedNanos;
      this.timeout = timeout;
      this.pump = CompletableFuture.runAsync(() -> copyLines(process, output), r -> Thread.ofPlatform().daemon().start(r));
    }

    /** When the harness was started (System.nanoTime), i.e. just before QEMU boots the guest. */
    public long startedNanos() {
      return startedNanos;
    }

    /**
     * Waits until a line of the guest's output contains {@code marker} and returns that line.
     *
     * @throws IllegalStateException if the guest ends first or {@code limit} passes (with the output)
     */
    public String awaitLine(String marker, Duration limit) {
      long deadline = System.nanoTime() + limit.toNanos();
      while (System.nanoTime() < deadline) {
        synchronized (output) {
          int at = output.indexOf(marker);
          if (at >= 0) {
            int start = output.lastIndexOf("\n", at) + 1;
            int end = output.indexOf("\n", at);
            return output.substring(start, end < 0 ? output.length() : end);
          }
          if (pump.isDone()) {
            throw new IllegalStateException("guest ended before printing '" + marker + "'; output:\n" + output);
          }
          try {
            output.wait(200);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for '" + marker + "'", e);
          }
        }
      }
      throw new IllegalStateException("no '" + marker + "' from the guest within " + limit + "; output:\n" + output());
    }

    /**
     * Cuts the guest's power: SIGKILL to the QEMU process (a descendant of the harness). Nothing in
     * the guest runs after this: its page cache and whatever it had not handed to QEMU are gone.
     *
     * @throws IllegalStateException if no QEMU process is found
     */
    public void killQemu() {
      ProcessHandle qemu = process.descendants()
          .filter(h -> h.info().command().map(c -> c.endsWith("/qemu-system-x86_64")).orElse(false))
          .findFirst()
          .orElseThrow(() -> new IllegalStateException("no qemu-system-x86_64 under the harness pid " + process.pid()));
      qemu.destroyForcibly();
      qemu.onExit().orTimeout(30, TimeUnit.SECONDS).join();
    }

    /** The output so far. */
    public String output() {
      synchronized (output) {
        return output.toString();
      }
    }

    /** Waits for the harness to end and returns the guest's result. */
    public Result await() {
      try {
        // The harness stops the guest at its own --timeout; this margin covers boot and clean-up.
        if (!process.waitFor(timeout.plusSeconds(60).toMillis(), TimeUnit.MILLISECONDS)) {
          process.descendants().forEach(ProcessHandle::destroyForcibly);
          process.destroyForcibly();
          throw new IllegalStateException("run-in-vm.sh did not end within " + timeout.plusSeconds(60) + "; output:\n" + output());
        }
        pump.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        throw new IllegalStateException("interrupted while the guest ran", e);
      }
      return new Result(process.exitValue(), output(), Duration.ofNanos(System.nanoTime() - startedNanos));
    }
  }

  /**
   * The argv that starts {@code mainClass} in the guest on this JVM's own JDK and class path
   * (both visible read-only in the guest), tuned to start quickly under TCG.
   */
  public static List<String> javaMain(Class<?> mainClass, String... args) {
    List<String> argv = new ArrayList<>(javaCommand());
    argv.add("-cp");
    argv.add(String.join(":", classPath()));
    argv.add(mainClass.getName());
    argv.addAll(Arrays.asList(args));
    return argv;
  }

  /** {@code java} and the JVM options for a quick start in the guest (no class path). */
  public static List<String> javaCommand() {
    return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-XX:-UsePerfData", "-Xss512k",
        "-Xmx384m", "--enable-native-access=ALL-UNNAMED");
  }

  /**
   * This JVM's class path as absolute paths. The guest's {@code /tmp} is its own, so an entry
   * under the host's {@code /tmp} (a manifest-only surefire jar) would be invisible there.
   */
  static List<String> classPath() {
    List<String> entries = Arrays.stream(System.getProperty("java.class.path").split(":"))
        .filter(s -> !s.isBlank())
        .map(s -> Path.of(s).toAbsolutePath().toString())
        .toList();
    for (String e : entries) {
      if (e.startsWith("/tmp/") && !insideRepository(Path.of(e))) {
        throw new IllegalStateException("class path entry " + e + " is under /tmp, which the guest cannot see;"
            + " run the kernel tests with failsafe/surefire useManifestOnlyJar=false or from target/ paths");
      }
    }
    return entries;
  }

  /**
   * The directories to share with the guest: the repository itself first when it lies under
   * {@code /tmp} (the guest's {@code /tmp} is its own tmpfs, so a clone there, as CI may make, would
   * be invisible: its classes, jars and scripts), then the requested shares.
   */
  static List<Path> guestShares(Path repo, List<Path> requested) {
    List<Path> all = new ArrayList<>();
    if (underTmp(repo)) {
      all.add(repo);
    }
    all.addAll(requested);
    return all;
  }

  /** True if an ancestor of {@code entry} is a cowherd checkout, which {@link #guestShares} shares. */
  private static boolean insideRepository(Path entry) {
    for (Path p = entry.getParent(); p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("mvnw")) && Files.isDirectory(p.resolve("crds"))) {
        return true;
      }
    }
    return false;
  }

  private static boolean underTmp(Path path) {
    return path.toAbsolutePath().startsWith("/tmp");
  }

  private void prepare() {
    Commands.Result r = Commands.exec(Duration.ofMinutes(15), List.of(repo.resolve("hack/vm/prepare.sh").toString()));
    if (!r.ok()) {
      throw new IllegalStateException("hack/vm/prepare.sh failed (exit " + r.exitCode() + "); the kernel tests need"
          + " Debian's linux-image-amd64, qemu-system-x86 and busybox-static:\n" + r.stderr() + r.stdout());
    }
  }

  private static void copyLines(Process p, StringBuilder output) {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        System.out.println("[guest] " + line);
        synchronized (output) {
          output.append(line).append('\n');
          output.notifyAll();
        }
      }
    } catch (IOException e) {
      synchronized (output) {
        output.append("[reading guest output failed: ").append(e.getMessage()).append("]\n");
      }
    } finally {
      synchronized (output) {
        output.notifyAll();
      }
    }
  }

  /** Options of a guest run. */
  public static final class Builder {
    private Path repo = Lab.findRepo();
    private int memoryMiB = 1536;
    private final List<Path> shares = new ArrayList<>();
    private final List<Integer> forwards = new ArrayList<>();
    private final Map<String, String> hosts = new LinkedHashMap<>();
    private final Map<String, String> env = new LinkedHashMap<>();
    private Duration timeout = Duration.ofMinutes(10);
    private Path disk;
    private String tap;

    private Builder() {}

    /**
     * Attaches {@code file} (raw, existing) as the guest's {@code /dev/vda} (virtio-blk; QEMU
     * cache=writeback, see hack/vm/run-in-vm.sh): it outlives the guest, and a SIGKILL of QEMU.
     */
    public Builder disk(Path file) {
      this.disk = file.toAbsolutePath();
      return this;
    }

    /**
     * Connects the guest's NIC {@code aoe0} to tap {@code tapName}, which the caller made in network
     * namespace {@code netns}; QEMU then runs in that namespace.
     */
    public Builder tap(String netns, String tapName) {
      this.tap = netns + ":" + tapName;
      return this;
    }

    /** Guest memory in MiB. */
    public Builder memoryMiB(int mib) {
      this.memoryMiB = mib;
      return this;
    }

    /** Shares {@code dir} read-write; the guest sees it at the same path. Created if missing. */
    public Builder share(Path dir) {
      try {
        Files.createDirectories(dir);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      shares.add(dir.toAbsolutePath().normalize());
      return this;
    }

    /** Lets the guest reach the host's {@code 127.0.0.1:port} at {@link #FORWARD_ADDRESS}{@code :port}. */
    public Builder forward(int port) {
      forwards.add(port);
      return this;
    }

    /** An {@code /etc/hosts} entry in the guest. */
    public Builder host(String name, String address) {
      hosts.put(name, address);
      return this;
    }

    /** An environment variable of the guest command. */
    public Builder env(String name, String value) {
      env.put(name, value);
      return this;
    }

    /** Longest the guest may run, boot included. */
    public Builder timeout(Duration limit) {
      this.timeout = limit;
      return this;
    }

    public GuestVm build() {
      return new GuestVm(this);
    }
  }
}
