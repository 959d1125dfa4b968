package io.cowherd.e2e.kernel.guest;

import io.cowherd.agent.backend.DmSnapshotBackend;
import io.cowherd.agent.host.Dmsetup;
import io.cowherd.agent.host.ExecCommandRunner;
import io.cowherd.agent.host.Fallocate;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.LoopDevice;
import io.cowherd.agent.host.Losetup;
import io.cowherd.agent.host.NodeLock;
import io.cowherd.e2e.kernel.GuestVm;
import io.cowherd.e2e.support.Commands;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What the guest scenarios need from the guest's host side: kernel modules, the dm-snapshot
 * backend wired as the node agent wires it, and read-only views of loop devices, dm devices and
 * device nodes for assertions.
 */
final class GuestHost {
  static final ExecCommandRunner RUNNER = new ExecCommandRunner();
  static final Losetup LOSETUP = new Losetup(RUNNER);
  static final Dmsetup DMSETUP = new Dmsetup(RUNNER);
  /** API request and connection timeout of the node agent in the guest (TCG, one CPU). */
  static final int AGENT_API_TIMEOUT_MILLIS = 60_000;

  private GuestHost() {}

  /** Loads each module (with its parameters, if any: {@code "aoe aoe_iflist=x"} is two argv words). */
  static void modprobe(String... modules) {
    for (String m : modules) {
      List<String> argv = new ArrayList<>(List.of("modprobe"));
      argv.addAll(List.of(m.split(" ")));
      Commands.run(argv.toArray(String[]::new));
    }
  }

  /** The backend as the node agent builds it (loop allocation lock file included), over {@code stateDir}. */
  static DmSnapshotBackend backend(Path stateDir) {
    Losetup losetup = new Losetup(RUNNER, NodeLock.onFile(stateDir.resolve(HostNames.LOSETUP_LOCK_FILE)));
    return new DmSnapshotBackend(new HostNames(stateDir), losetup, DMSETUP, Path.of("/dev/mapper/control"),
        Path.of("/sys/class/misc/device-mapper"), new Fallocate(RUNNER));
  }

  /**
   * Writes an origin of {@code sizeBytes} (a multiple of 1 MiB) with known content and returns it:
   * one MiB of seeded pseudo-random bytes, repeated, with each 512-byte sector's first 8 bytes
   * replaced by its sector number, so every sector differs from every other one (cheap to make
   * under TCG, and a read from a wrong offset cannot match).
   */
  static byte[] writeOrigin(Path file, int sizeBytes, long seed) {
    byte[] mib = pattern(1 << 20, seed);
    byte[] data = new byte[sizeBytes];
    for (int off = 0; off < sizeBytes; off += mib.length) {
      System.arraycopy(mib, 0, data, off, mib.length);
    }
    java.nio.ByteBuffer view = java.nio.ByteBuffer.wrap(data);
    for (int sector = 0; sector < sizeBytes / 512; sector++) {
      view.putLong(sector * 512, sector);
    }
    try {
      Files.createDirectories(file.getParent());
      Files.write(file, data);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return data;
  }

  /** {@code size} seeded pseudo-random bytes. */
  static byte[] pattern(int sizeBytes, long seed) {
    byte[] data = new byte[sizeBytes];
    new Random(seed).nextBytes(data);
    return data;
  }

  /** Every dm device name ({@code dmsetup ls}), sorted. */
  static List<String> dmNames() {
    String out = Commands.run("dmsetup", "ls");
    if (out.strip().equals("No devices found")) {
      return List.of();
    }
    return out.lines().map(l -> l.strip().split("\\s+")[0]).filter(s -> !s.isEmpty()).sorted().toList();
  }

  /** Every attached loop device. */
  static List<LoopDevice> loops() {
    return LOSETUP.list();
  }

  /** dm name → {@code major:minor} of every dm device. */
  static Map<String, String> dmNumbers() {
    Map<String, String> numbers = new TreeMap<>();
    String out = Commands.run("dmsetup", "info", "--columns", "--noheadings", "--options", "name,major,minor",
        "--separator", ":");
    if (out.strip().equals("No devices found")) {
      return numbers;
    }
    out.lines().filter(l -> !l.isBlank()).forEach(l -> {
      String[] f = l.strip().split(":");
      numbers.put(f[0], f[1] + ":" + f[2]);
    });
    return numbers;
  }

  /** Name → {@code major:minor} of every block device node in {@code /dev/mapper}. */
  static Map<String, String> mapperNodes() {
    Map<String, String> nodes = new TreeMap<>();
    try (Stream<Path> files = Files.list(Path.of("/dev/mapper"))) {
      for (Path p : files.toList()) {
        if (p.getFileName().toString().equals("control")) {
          continue;
        }
        long rdev = ((Number) Files.getAttribute(p, "unix:rdev")).longValue();
        long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
        long minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
        nodes.put(p.getFileName().toString(), major + ":" + minor);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return nodes;
  }

  /**
   * Regular files under {@code dir}, sorted, but the agent's lock files at its top ({@code
   * .losetup.lock}, {@code .cowherd-agent.lock}: dot files that stay with the state dir); empty if
   * none.
   */
  static List<Path> filesUnder(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile)
          .filter(p -> !(p.getParent().equals(dir) && p.getFileName().toString().startsWith(".")))
          .sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Prints {@code dmsetup ls}, {@code dmsetup status} and {@code losetup -a} for the log. */
  static void dumpDevices(String when) {
    System.out.println("--- devices " + when + " ---");
    System.out.print(Commands.exec(Commands.DEFAULT_TIMEOUT, List.of("dmsetup", "status")).stdout());
    System.out.print(Commands.exec(Commands.DEFAULT_TIMEOUT, List.of("losetup", "-a")).stdout());
    System.out.println("---");
  }

  /**
   * Whether {@code file} holds {@code chunk} at an offset that is a multiple of its length (where
   * a dm-snapshot exception store keeps each copied chunk).
   */
  static boolean holdsChunk(Path file, byte[] chunk) {
    try (java.io.InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
      byte[] block = new byte[chunk.length];
      while (in.readNBytes(block, 0, block.length) == block.length) {
        if (java.util.Arrays.equals(block, chunk)) {
          return true;
        }
      }
      return false;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Whether the file's bytes equal {@code expected}, without a 64 MiB assertion message on failure. */
  static boolean fileEquals(Path file, byte[] expected) {
    try {
      return java.util.Arrays.equals(Files.readAllBytes(file), expected);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static final long STARTED = System.nanoTime();

  /** Prints {@code [step +S.s] what} (seconds since this JVM loaded the class), for timing a scenario. */
  /**
   * Starts the node agent in the guest as the kernel scenarios run it: {@code agent} is a jar or a
   * class path; state dir {@code stateDir}, the one image root {@code imageRoot}, heartbeat Lease in
   * namespace {@code default}, the API server from {@code kubeconfig}, output to {@code log}. One
   * emulated CPU runs the agent, so API requests and connections get 60 s (fabric8's defaults are
   * 10 s).
   *
   * @throws IOException when the JVM cannot be started
   */
  static Process startNodeAgent(String agent, String nodeName, Path stateDir, Path imageRoot, Path kubeconfig,
      Path log) throws IOException {
    List<String> argv = new ArrayList<>(GuestVm.javaCommand());
    if (agent.endsWith(".jar") && !agent.contains(":")) {
      argv.addAll(List.of("-jar", agent));
    } else {
      argv.addAll(List.of("-cp", agent, "io.cowherd.agent.Main"));
    }
    argv.addAll(List.of("--node-name", nodeName, "--state-dir", stateDir.toString(), "--image-root",
        imageRoot.toString(), "--lease-namespace", "default"));
    ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("KUBECONFIG", kubeconfig.toString());
    pb.environment().put("COWHERD_LOG_LEVEL", "INFO");
    pb.environment().put("KUBERNETES_REQUEST_TIMEOUT", Integer.toString(AGENT_API_TIMEOUT_MILLIS));
    pb.environment().put("KUBERNETES_CONNECTION_TIMEOUT", Integer.toString(AGENT_API_TIMEOUT_MILLIS));
    return pb.start();
  }

  static void step(String what) {
    System.out.printf("[step +%.1fs] %s%n", secondsSince(STARTED), what);
  }

  /** Seconds since {@code startedNanos} ({@link System#nanoTime}). */
  static double secondsSince(long startedNanos) {
    return (System.nanoTime() - startedNanos) / 1e9;
  }
}
