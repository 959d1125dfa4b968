package io.cowherd.agent.host;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * {@code dmsetup(8)}: builds argv, runs it, parses output. The table is always ONE argv element,
 * never a shell string. Table and status formats: kernel
 * Documentation/admin-guide/device-mapper/snapshot.rst.
 *
 * <p>Nothing waits for udev: {@code create} and {@code remove} run with {@code --noudevsync}
 * (where udevd is absent, or runs in another IPC namespace as seen from a container, dmsetup
 * would otherwise wait for a udev cookie that never comes), and the {@code /dev/mapper} node is
 * made or removed by {@code dmsetup mknodes NAME} after each of them, whether udev also does it
 * or not.
 */
public final class Dmsetup {
  /** {@code dmsetup remove --retry} retries for a few seconds while busy; allow for that. */
  static final Duration REMOVE_TIMEOUT = Duration.ofSeconds(60);

  private final CommandRunner runner;

  public Dmsetup(CommandRunner runner) {
    this.runner = runner;
  }

  /**
   * A persistent snapshot table with overflow {@code 0 <sizeSectors> snapshot <origin> <cow> PO
   * <chunkSectors>}. Store type {@code PO} (kernel snapshot.rst: "O (Overflow) can be added as a
   * persistent store option"; dm-snap.c keeps a full snapshot valid and sets {@code Overflow}
   * instead of invalidating it): when the COW store is full, every further write fails while the
   * whole device stays readable with every write made before, instead of turning {@code Invalid}
   * (nothing readable) for good. Existing {@code P} devices are adopted as they are.
   *
   * @param sizeSectors size of the snapshot device (= origin), 512-byte sectors
   * @param originDevice origin block device, e.g. {@code /dev/loop3}
   * @param cowDevice COW (exception store) block device
   * @param chunkSectors chunk size, 512-byte sectors, a power of two
   */
  public static String snapshotTable(long sizeSectors, String originDevice, String cowDevice, int chunkSectors) {
    return "0 " + sizeSectors + " snapshot " + originDevice + " " + cowDevice + " PO " + chunkSectors;
  }

  /** argv creating {@code name} with {@code uuid} from {@code table} (one argv element), not waiting for udev. */
  public static HostCommand createCommand(String name, String uuid, String table) {
    return HostCommand.of("dmsetup", "create", name, "--noudevsync", "--uuid", uuid, "--table", table);
  }

  /** argv printing the status line of {@code name}. */
  public static HostCommand statusCommand(String name) {
    return HostCommand.of("dmsetup", "status", name);
  }

  /** argv printing {@code name|uuid|major|minor} of {@code name}. */
  public static HostCommand infoCommand(String name) {
    return HostCommand.of("dmsetup", "info", "--columns", "--noheadings", "--options", "name,uuid,major,minor",
        "--separator", "|", name);
  }

  /** argv printing every snapshot table as {@code <name>: <table>}. */
  public static HostCommand tablesCommand() {
    return HostCommand.of("dmsetup", "table", "--target", "snapshot");
  }

  /**
   * argv removing {@code name}, letting dmsetup retry for a few seconds while busy; never --force;
   * not waiting for udev.
   */
  public static HostCommand removeCommand(String name) {
    return new HostCommand(java.util.List.of("dmsetup", "remove", "--noudevsync", "--retry", name), REMOVE_TIMEOUT);
  }

  /**
   * argv making the {@code /dev/mapper/<name>} node match the kernel: created (with the device's
   * number) if the device exists, removed if it does not.
   */
  public static HostCommand mknodesCommand(String name) {
    return HostCommand.of("dmsetup", "mknodes", name);
  }

  /** Creates a dm device. @throws CommandFailedException if dmsetup fails */
  public void create(String name, String uuid, String table) {
    runner.run(createCommand(name, uuid, table));
  }

  /**
   * Makes {@code /dev/mapper/<name>} match the kernel: present with the right number while the
   * device exists, absent once it is gone. @throws CommandFailedException
   */
  public void mknodes(String name) {
    runner.run(mknodesCommand(name));
  }

  /**
   * The device named {@code name}, if it exists.
   *
   * @throws CommandFailedException on failures other than "does not exist"
   */
  public Optional<DmDevice> info(String name) {
    try {
      return Optional.of(parseInfo(runner.run(infoCommand(name)).stdout()));
    } catch (CommandFailedException e) {
      if (isNotFound(e)) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** Parses one {@code name|uuid|major|minor} line (older forms {@code name|uuid} and {@code name} too). */
  static DmDevice parseInfo(String output) {
    String[] f = output.strip().split("\\|", -1);
    String uuid = f.length > 1 ? f[1] : "";
    String majMin = f.length > 3 ? f[2].strip() + ":" + f[3].strip() : "";
    return new DmDevice(f[0], uuid, majMin);
  }

  /** Status of snapshot {@code name}. @throws CommandFailedException (see {@link #isNotFound}) */
  public SnapshotStatus status(String name) {
    return parseSnapshotStatus(runner.run(statusCommand(name)).stdout());
  }

  /** Every snapshot table by dm name. @throws CommandFailedException if dmsetup fails */
  public Map<String, String> snapshotTables() {
    return parseTables(runner.run(tablesCommand()).stdout());
  }

  /**
   * Removes {@code name} (dmsetup retries briefly while busy; never forced).
   *
   * @throws CommandFailedException if it still fails; see {@link #isBusy}, {@link #isNotFound}
   */
  public void remove(String name) {
    runner.run(removeCommand(name));
  }

  /** Whether {@code e} says the device does not exist. */
  public static boolean isNotFound(CommandFailedException e) {
    String s = e.stderr();
    return s.contains("Device does not exist") || s.contains("No such device");
  }

  /** Whether {@code e} says the device is open (in use). */
  public static boolean isBusy(CommandFailedException e) {
    return e.stderr().contains("Device or resource busy");
  }

  /**
   * Parses one {@code dmsetup status} line of a snapshot target: {@code <start> <length> snapshot
   * <allocated>/<total> <metadata>} or {@code ... snapshot Invalid|Overflow|Merge failed|Unknown}.
   *
   * @throws IllegalArgumentException if the line is not a snapshot status line
   */
  public static SnapshotStatus parseSnapshotStatus(String output) {
    String line = output.strip();
    String[] f = line.split("\\s+", 4);
    if (f.length < 4 || !"snapshot".equals(f[2])) {
      throw new IllegalArgumentException("not a snapshot status line: '" + line + "'");
    }
    String rest = f[3].strip();
    String[] usage = rest.split("\\s+");
    int slash = usage[0].indexOf('/');
    if (slash < 0) {
      return new SnapshotStatus.Broken(rest);
    }
    try {
      long allocated = Long.parseLong(usage[0].substring(0, slash));
      long total = Long.parseLong(usage[0].substring(slash + 1));
      long metadata = usage.length > 1 ? Long.parseLong(usage[1]) : 0;
      return new SnapshotStatus.Active(allocated, total, metadata);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("malformed snapshot usage in '" + line + "'", e);
    }
  }

  /** Parses {@code dmsetup table} output ({@code <name>: <table>} per line, or "No devices found"). */
  public static Map<String, String> parseTables(String output) {
    Map<String, String> tables = new LinkedHashMap<>();
    for (String line : output.split("\n")) {
      int colon = line.indexOf(": ");
      if (colon > 0) {
        tables.put(line.substring(0, colon), line.substring(colon + 2).strip());
      }
    }
    return tables;
  }
}
