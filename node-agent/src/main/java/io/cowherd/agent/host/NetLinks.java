package io.cowherd.agent.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The state of a network interface as sysfs shows it ({@code /sys/class/net/<iface>}, kernel
 * Documentation/ABI/testing/sysfs-class-net): whether it exists, whether it is administratively
 * up ({@code flags} & IFF_UP, include/uapi/linux/if.h), and its MAC ({@code address}). vblade(8)
 * exits with "read network: Network is down" (ENETDOWN) when its interface goes down or is
 * deleted, so an exporter can run only on an interface that is {@link State#UP}. Reads only.
 */
public final class NetLinks {
  /** IFF_UP from include/uapi/linux/if.h. */
  private static final int IFF_UP = 0x1;

  /** What an exporter can do on an interface. */
  public enum State {
    /** {@code /sys/class/net/<iface>} does not exist: the NIC is gone (unplugged, renamed, deleted). */
    MISSING,
    /** It exists but is administratively down: vblade fails with ENETDOWN. */
    DOWN,
    /** It exists and is up (a missing carrier is not checked: vblade keeps running without one). */
    UP
  }

  private final Path sysRoot;

  /** @param sysRoot sysfs, normally {@code /sys} */
  public NetLinks(Path sysRoot) {
    this.sysRoot = sysRoot;
  }

  /** The state of {@code iface} now; a name that cannot be an interface is {@link State#MISSING}. */
  public State state(String iface) {
    Path dir = dir(iface);
    if (dir == null || !Files.isDirectory(dir)) {
      return State.MISSING;
    }
    try {
      String flags = Files.readString(dir.resolve("flags")).strip();
      int value = Integer.decode(flags);
      return (value & IFF_UP) != 0 ? State.UP : State.DOWN;
    } catch (NoSuchFileException e) {
      return Files.isDirectory(dir) ? State.UP : State.MISSING; // no flags file (test sysfs): existence only
    } catch (IOException | NumberFormatException e) {
      return Files.isDirectory(dir) ? State.DOWN : State.MISSING; // vanished or unreadable while reading
    }
  }

  /** The MAC of {@code iface} as {@code aa:bb:cc:dd:ee:ff}, if it exists. */
  public Optional<String> address(String iface) {
    Path dir = dir(iface);
    if (dir == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(Files.readString(dir.resolve("address")).strip());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private Path dir(String iface) {
    if (iface == null || iface.isEmpty() || iface.contains("/") || iface.equals(".") || iface.equals("..")) {
      return null;
    }
    return sysRoot.resolve("class/net").resolve(iface);
  }
}
