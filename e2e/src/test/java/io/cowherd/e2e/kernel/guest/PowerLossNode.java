package io.cowherd.e2e.kernel.guest;

import io.cowherd.e2e.support.Commands;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Runs in the test guest as the boot server of {@code PowerLossKernelTest}: this guest is the node,
 * its disk {@code /dev/vda} (the test's own file) holds the origin image and the agent's state
 * dir, and its NIC {@code aoe0} is on the test's tap, where the client (on the host) reaches the
 * exporters. Does only what a node does at boot, then runs the node agent until the power is cut
 * (QEMU SIGKILLed by the test) or the test asks it to stop (file {@code WORK_DIR/stop}).
 *
 * <p>{@code first}: makes an ext4 filesystem on {@code /dev/vda}, writes the origin and syncs it
 * (the origin is not under test). {@code again}: mounts the filesystem as it was left by the power
 * cut and prints what a reboot left of the slots (COW files; no loop or dm device), which the
 * agent must rebuild. Both print, once the agent's exporters run, their argv, the snapshot tables
 * and the loop devices, and the guest's uptime (seconds since its kernel started).
 *
 * <p>Arguments: {@code first|again WORK_DIR NODE_NAME AGENT KUBECONFIG}; AGENT is the agent jar or
 * a class path.
 */
public final class PowerLossNode {
  /** Where {@code /dev/vda} is mounted in the guest. */
  public static final Path MOUNT = Path.of("/tmp/node");
  /** The origin image on the node's disk. */
  public static final Path ORIGIN = MOUNT.resolve("images/origin.img");
  /** The node agent's state dir on the node's disk. */
  public static final Path STATE = MOUNT.resolve("state");
  /** Origin size in bytes. */
  public static final int ORIGIN_BYTES = 32 << 20;
  /** The guest NIC on the test's tap. */
  public static final String NIC = "aoe0";
  /** Printed once every expected exporter runs, after their argv, the dm tables and the loop devices. */
  public static final String EXPORTERS_UP = "[node] exporters up";

  private PowerLossNode() {}

  public static void main(String[] args) throws Exception {
    boolean first = args[0].equals("first");
    Path workDir = Path.of(args[1]);
    String nodeName = args[2];
    String agent = args[3];
    Path kubeconfig = Path.of(args[4]);
    int exporters = Integer.parseInt(System.getProperty("cowherd.powerloss.exporters", "2"));

    GuestHost.modprobe("loop", "dm_snapshot");
    Files.createDirectories(MOUNT);
    if (first) {
      Commands.run("mkfs.ext4", "-q", "-F", "/dev/vda");
    }
    Commands.run("mount", "-t", "ext4", "/dev/vda", MOUNT.toString());
    if (first) {
      GuestHost.writeOrigin(ORIGIN, ORIGIN_BYTES, 4);
      Commands.run("sync"); // the origin is the test's fixture, not under test
    } else {
      System.out.println("[node] after the power cut: COW files " + cowFiles() + ", loop devices " + GuestHost.loops()
          + ", dm devices " + GuestHost.dmNames());
    }
    Commands.run("ip", "link", "set", NIC, "mtu", "9000");

    Process agentProcess = startAgent(agent, nodeName, kubeconfig, workDir.resolve("node-agent-" + args[0] + ".log"));
    System.out.printf(Locale.ROOT, "[node] agent started at guest uptime %.1f s%n", uptimeSeconds());
    boolean reported = false;
    while (true) {
      if (Files.exists(workDir.resolve("stop"))) {
        agentProcess.destroy();
        if (!agentProcess.waitFor(30, TimeUnit.SECONDS)) {
          agentProcess.destroyForcibly().waitFor();
        }
        System.out.println("[node] stopped on request");
        return;
      }
      if (!agentProcess.isAlive()) {
        System.out.println("[node] the node agent exited with " + agentProcess.exitValue());
        System.exit(1);
      }
      List<String> argvs = vbladeArgvs();
      if (!reported && argvs.size() >= exporters) {
        reported = true;
        double up = uptimeSeconds();
        argvs.forEach(a -> System.out.println("[node] exporter: " + a));
        Commands.run("dmsetup", "table").lines().forEach(l -> System.out.println("[node] dm table: " + l));
        GuestHost.loops().forEach(l -> System.out.println("[node] loop: " + l));
        // Last: a reader that waits for this line has seen the lines above.
        System.out.printf(Locale.ROOT, "%s at guest uptime %.1f s%n", EXPORTERS_UP, up);
      }
      Thread.sleep(500);
    }
  }

  private static Process startAgent(String agent, String nodeName, Path kubeconfig, Path log) throws IOException {
    return GuestHost.startNodeAgent(agent, nodeName, STATE, ORIGIN.getParent(), kubeconfig, log);
  }

  /** COW files under the state dir ({@code <ns>/<pool>/slot-<n>.cow}) with their sizes in bytes. */
  private static TreeMap<String, Long> cowFiles() throws IOException {
    TreeMap<String, Long> found = new TreeMap<>();
    for (Path p : GuestHost.filesUnder(STATE)) {
      if (p.getFileName().toString().endsWith(".cow")) {
        found.put(STATE.relativize(p).toString(), ((Number) Files.getAttribute(p, "unix:size")).longValue());
      }
    }
    return found;
  }

  /** argv (space-joined) of every running vblade. */
  private static List<String> vbladeArgvs() throws IOException {
    List<String> found = new ArrayList<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().matches("\\d+"))) {
      for (Path dir : dirs) {
        try {
          String cmdline = Files.readString(dir.resolve("cmdline"), StandardCharsets.UTF_8);
          String[] argv = cmdline.split("\0");
          if (argv.length > 0 && Path.of(argv[0]).getFileName() != null && Path.of(argv[0]).getFileName().toString().equals("vblade")) {
            found.add(String.join(" ", argv));
          }
        } catch (NoSuchFileException e) {
          // exited during the scan
        }
      }
    }
    return found;
  }

  /** Seconds since the guest's kernel started ({@code /proc/uptime}). */
  static double uptimeSeconds() throws IOException {
    return Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split(" ")[0]);
  }
}
