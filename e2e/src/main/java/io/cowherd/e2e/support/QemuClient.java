package io.cowherd.e2e.support;

import io.cowherd.aoe.frame.AoeTarget;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * One diskless client machine: a QEMU VM (TCG, one vCPU, no disk) whose only NIC is a virtio-net
 * tap on a {@link NetworkLab}'s bridge, booting Debian's {@code ipxe.lkrn} with a script that runs
 * {@code ifopen net0} and {@code sanboot aoe:e<shelf>.<slot>}, exactly as a real client's iPXE
 * would. The serial console is read line by line, each line time-stamped from QEMU's start, and
 * copied to {@code <logDir>/<name>.console.log}.
 *
 * <p>The tap is created in the bridge namespace and QEMU runs there ({@code ip netns exec}); no
 * address is configured anywhere (AoE is plain Ethernet). Closing stops QEMU and removes the tap.
 */
public final class QemuClient implements AutoCloseable {
  /** Debian's iPXE as a Linux kernel image (package {@code ipxe}); its build includes AoE. */
  public static final Path IPXE_LKRN = Path.of("/usr/lib/ipxe/ipxe.lkrn");
  /** OVMF's firmware code (Debian package {@code ovmf}), 4 MiB flash layout, no Secure Boot. */
  public static final Path OVMF_CODE = Path.of("/usr/share/OVMF/OVMF_CODE_4M.fd");
  /** OVMF's empty variable store; each UEFI client boots with its own copy. */
  public static final Path OVMF_VARS = Path.of("/usr/share/OVMF/OVMF_VARS_4M.fd");
  /** Guest memory in MiB. */
  public static final int MEMORY_MIB = 512;

  /** Printed by the boot image's initramfs once its disk is there: {@code COWHERD-BOOT-OK e7.1 mac=…}. */
  public static final String BOOT_OK = "COWHERD-BOOT-OK ";
  /** Printed with the marker a previous boot left on this disk. */
  public static final String MARKER_FOUND = "COWHERD-MARKER-FOUND ";
  /** Printed when the disk holds no marker yet. */
  public static final String MARKER_NONE = "COWHERD-MARKER-NONE ";
  /** Printed with the marker this boot wrote and read back. */
  public static final String MARKER_WRITTEN = "COWHERD-MARKER-WRITTEN ";
  /** Printed when the export refused the marker write (a read-only vblade). */
  public static final String MARKER_NOT_WRITTEN = "COWHERD-MARKER-NOT-WRITTEN ";
  /** Printed by the initramfs when it cannot reach its disk. */
  public static final String BOOT_FAILED = "COWHERD-BOOT-FAILED ";
  /** Printed by the client's iPXE script when sanboot returns. */
  public static final String SANBOOT_FAILED = "COWHERD-SANBOOT-FAILED ";
  /** iPXE's message when no target answers (after about 16 s). */
  public static final String IPXE_NO_SAN_DEVICE = "Could not open SAN device";

  private static final Pattern ANSI = Pattern.compile("\u001B(\\[[0-9;?]*[A-Za-z]|[A-Za-z])");

  /** One console line and when it was complete, counted from QEMU's start. */
  public record ConsoleLine(Duration sinceStart, String text) {
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "[%6.2f] %s", sinceStart.toNanos() / 1e9, text);
    }
  }

  private final String name;
  /** The target of the client's own script, or null for a client booting from its NIC's PXE ROM. */
  private final AoeTarget target;
  private final String mac;
  /** True for a UEFI (OVMF) client, false for SeaBIOS. */
  private final boolean uefi;
  private final String bridgeNamespace;
  private final String tap;
  private final Path consoleLog;
  private final List<ConsoleLine> lines = new CopyOnWriteArrayList<>();
  private final List<Consumer<ConsoleLine>> listeners = new CopyOnWriteArrayList<>();
  private Process process;
  private Thread reader;
  private long startNanos;

  private QemuClient(String name, AoeTarget target, String mac, boolean uefi, String bridgeNamespace, Path logDir) {
    this.name = name;
    this.target = target;
    this.mac = mac;
    this.uefi = uefi;
    this.bridgeNamespace = bridgeNamespace;
    this.tap = "qt" + mac.replace(":", "").substring(6);
    this.consoleLog = logDir.resolve(name + ".console.log");
  }

  /**
   * A client MAC address for client number {@code n} (0–255): locally administered, QEMU's
   * {@code 52:54:00} prefix, {@code 52:54:00:c0:de:<n>}.
   */
  public static String macFor(int n) {
    return String.format(Locale.ROOT, "52:54:00:c0:de:%02x", n);
  }

  /**
   * Powers on a client that boots from {@code target} on {@code network}'s segment.
   *
   * @param name names the log files, e.g. {@code client-1-boot-2}
   * @param mac the client NIC's MAC, e.g. from {@link #macFor}
   * @param onLine called from the reader thread with every console line (for the demo), or null
   * @throws Commands.CommandException when the tap cannot be made
   */
  public static QemuClient powerOn(NetworkLab network, Path logDir, String name, AoeTarget target, String mac,
      Consumer<ConsoleLine> onLine) {
    return started(new QemuClient(name, target, mac, false, network.bridgeNamespace(), logDir), logDir, onLine);
  }

  /**
   * Powers on a client that boots from its NIC's option ROM ({@code -boot n}, QEMU's default
   * {@code romfile} for virtio-net: an iPXE build of Debian's {@code ipxe-qemu}, /usr/lib/ipxe/qemu):
   * it asks DHCP on {@code network}'s segment for what to boot, as a real machine's PXE firmware does.
   * No script and no {@code -kernel}; {@link #target()} is null (the console's {@link #BOOT_OK} line
   * names the target it got).
   *
   * @throws Commands.CommandException when the tap cannot be made
   */
  public static QemuClient powerOnFromNic(NetworkLab network, Path logDir, String name, String mac,
      Consumer<ConsoleLine> onLine) {
    return powerOnFromNic(network, logDir, name, mac, false, onLine);
  }

  /**
   * Powers on a UEFI client (OVMF, QEMU q35) that boots from its NIC through OVMF's own native UEFI
   * PXE: the virtio-net NIC has no option ROM ({@code romfile=}), so OVMF's virtio-net driver and
   * PXE base code ask DHCP (client architecture 7, x86-64 UEFI) and load what it names over TFTP,
   * as a real UEFI machine does. OVMF's variable store is a fresh copy of {@link #OVMF_VARS} in
   * {@code logDir}. {@link #target()} is null.
   *
   * @throws Commands.CommandException when the tap cannot be made
   * @throws UncheckedIOException when the variable store cannot be copied
   */
  public static QemuClient powerOnUefiFromNic(NetworkLab network, Path logDir, String name, String mac,
      Consumer<ConsoleLine> onLine) {
    return powerOnFromNic(network, logDir, name, mac, true, onLine);
  }

  private static QemuClient powerOnFromNic(NetworkLab network, Path logDir, String name, String mac, boolean uefi,
      Consumer<ConsoleLine> onLine) {
    return started(new QemuClient(name, null, mac, uefi, network.bridgeNamespace(), logDir), logDir, onLine);
  }

  /** Starts {@code client} with {@code onLine} (or null) listening; closes it if it cannot start. */
  private static QemuClient started(QemuClient client, Path logDir, Consumer<ConsoleLine> onLine) {
    if (onLine != null) {
      client.listeners.add(onLine);
    }
    try {
      client.start(logDir);
    } catch (RuntimeException e) {
      client.close();
      throw e;
    }
    return client;
  }

  private void start(Path logDir) {
    try {
      Files.createDirectories(logDir);
      Path script = null;
      if (target != null) {
        script = logDir.resolve(name + ".ipxe");
        Files.writeString(script, ipxeScript(target));
      }
      Path vars = null;
      if (uefi) {
        vars = logDir.resolve(name + ".OVMF_VARS.fd");
        Files.copy(OVMF_VARS, vars, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
      Commands.exec(Commands.DEFAULT_TIMEOUT, List.of("ip", "-n", bridgeNamespace, "link", "del", tap));
      Commands.run("ip", "-n", bridgeNamespace, "tuntap", "add", "dev", tap, "mode", "tap");
      Commands.run("ip", "-n", bridgeNamespace, "link", "set", "dev", tap, "master", "br0", "up");
      ProcessBuilder pb = new ProcessBuilder(argv(script, vars)).redirectErrorStream(true);
      startNanos = System.nanoTime();
      process = pb.start();
      Writer log = Files.newBufferedWriter(consoleLog, StandardCharsets.UTF_8);
      reader = Thread.ofVirtual().name("console-" + name).start(() -> readConsole(log));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start client VM " + name, e);
    }
  }

  /** The iPXE script: open the first NIC, SAN-boot the target, say so if sanboot returns. */
  public static String ipxeScript(AoeTarget target) {
    return "#!ipxe\n"
        + "echo cowherd client: sanboot aoe:" + target + "\n"
        + "ifopen net0\n"
        + "sanboot aoe:" + target + " || goto failed\n"
        + ":failed\n"
        + "echo " + SANBOOT_FAILED + target + "\n";
  }

  private List<String> argv(Path script, Path ovmfVars) {
    List<String> argv = new java.util.ArrayList<>(List.of("ip", "netns", "exec", bridgeNamespace,
        "qemu-system-x86_64", "-name", "cowherd-" + name,
        "-accel", "tcg", "-smp", "1", "-m", Integer.toString(MEMORY_MIB),
        "-machine", (uefi ? "q35" : "pc") + ",graphics=off", "-nodefaults", "-no-user-config", "-display", "none",
        "-serial", "stdio", "-monitor", "none", "-no-reboot",
        "-netdev", "tap,id=net0,ifname=" + tap + ",script=no,downscript=no"));
    if (uefi) {
      // OVMF's own UEFI PXE (no option ROM on the NIC).
      argv.addAll(List.of(
          "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMF_CODE,
          "-drive", "if=pflash,format=raw,unit=1,file=" + ovmfVars,
          "-device", "virtio-net-pci,netdev=net0,mac=" + mac + ",romfile=,bootindex=1"));
    } else if (script != null) {
      argv.addAll(List.of("-kernel", IPXE_LKRN.toString(), "-initrd", script.toString(),
          "-device", "virtio-net-pci,netdev=net0,mac=" + mac + ",romfile="));
    } else {
      // The NIC's option ROM (QEMU's default romfile) does the PXE boot.
      argv.addAll(List.of("-boot", "n", "-device", "virtio-net-pci,netdev=net0,mac=" + mac));
    }
    return argv;
  }

  private void readConsole(Writer log) {
    try (log; BufferedReader in = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.ISO_8859_1))) {
      for (String raw; (raw = in.readLine()) != null; ) {
        String text = ANSI.matcher(raw).replaceAll("").strip();
        if (text.isEmpty()) {
          continue;
        }
        ConsoleLine line = new ConsoleLine(Duration.ofNanos(System.nanoTime() - startNanos), text);
        lines.add(line);
        log.write(line + "\n");
        log.flush();
        listeners.forEach(l -> l.accept(line));
      }
    } catch (IOException e) {
      // QEMU was killed while we read; the lines so far are kept
    }
  }

  /** The client's name (log file names). */
  public String name() {
    return name;
  }

  /** The target this client's script boots from; null for a client booting from its NIC ({@link #powerOnFromNic}). */
  public AoeTarget target() {
    return target;
  }

  /** The client NIC's MAC address. */
  public String mac() {
    return mac;
  }

  /** The console log file. */
  public Path consoleLog() {
    return consoleLog;
  }

  /** Every console line so far. */
  public List<ConsoleLine> console() {
    return List.copyOf(lines);
  }

  /** The first console line containing {@code fragment}, if one was printed yet. */
  public Optional<ConsoleLine> line(String fragment) {
    return lines.stream().filter(l -> l.text().contains(fragment)).findFirst();
  }

  /** The text after {@code marker} on the first line that starts with it (e.g. a marker's content). */
  public Optional<String> after(String marker) {
    return lines.stream().map(ConsoleLine::text).filter(t -> t.startsWith(marker))
        .map(t -> t.substring(marker.length())).findFirst();
  }

  /** Time from QEMU's start until the first line containing {@code fragment}. */
  public Optional<Duration> timeTo(String fragment) {
    return line(fragment).map(ConsoleLine::sinceStart);
  }

  /**
   * True once QEMU has exited (the guest powered off, or the VM was stopped) and every console line
   * it printed has been read (the reader thread lags behind the process: without waiting for it, the
   * last lines, such as the marker, could still be missing).
   */
  public boolean poweredOff() {
    return process != null && !process.isAlive() && (reader == null || !reader.isAlive());
  }

  /** QEMU's exit code once it has exited. */
  public OptionalInt exitCode() {
    return poweredOff() ? OptionalInt.of(process.exitValue()) : OptionalInt.empty();
  }

  /** The last {@code n} console lines, for failure messages. */
  public String tail(int n) {
    List<ConsoleLine> all = console();
    StringBuilder sb = new StringBuilder(name).append(" console (").append(consoleLog).append("), last lines:\n");
    all.subList(Math.max(0, all.size() - n), all.size()).forEach(l -> sb.append("  ").append(l).append('\n'));
    return sb.toString();
  }

  /** Pulls the plug: stops QEMU (SIGTERM, then SIGKILL after 10 s) and removes the tap. */
  @Override
  public void close() {
    if (process != null && process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }
    if (reader != null) {
      try {
        reader.join(Duration.ofSeconds(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    Commands.exec(Commands.DEFAULT_TIMEOUT, List.of("ip", "-n", bridgeNamespace, "link", "del", tap));
  }

  @Override
  public String toString() {
    return name + "[" + target + ", " + mac + (process != null ? ", pid " + process.pid() : "") + "]";
  }
}
