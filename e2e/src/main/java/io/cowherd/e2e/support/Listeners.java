package io.cowherd.e2e.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The listening TCP sockets of processes, read from {@code /proc}: {@code /proc/<pid>/fd} links
 * {@code socket:[<inode>]} matched with the LISTEN rows (state {@code 0A}) of {@code
 * /proc/net/tcp} and {@code /proc/net/tcp6} (proc(5)). Used to show that the demo's and tests'
 * control plane listens on loopback only.
 */
public final class Listeners {
  private Listeners() {}

  /**
   * One listening socket.
   *
   * @param pid owning process
   * @param command the process's command (first argv element, or its name)
   * @param address local address
   * @param port local TCP port
   */
  public record Listener(long pid, String command, InetAddress address, int port) {
    /** Whether only this host can connect (127.0.0.0/8 or ::1). */
    public boolean loopback() {
      return address.isLoopbackAddress();
    }

    @Override
    public String toString() {
      return command + "[" + pid + "] " + address.getHostAddress() + ":" + port;
    }
  }

  /** Listening TCP sockets of this JVM's descendant processes (children, their children, ...). */
  public static List<Listener> ofDescendants() {
    List<ProcessHandle> processes = ProcessHandle.current().descendants().toList();
    Map<Long, Listener> byInode = listeningInodes();
    List<Listener> found = new ArrayList<>();
    for (ProcessHandle p : processes) {
      for (long inode : socketInodes(p.pid())) {
        Listener l = byInode.get(inode);
        if (l != null) {
          found.add(new Listener(p.pid(), p.info().command().orElse("?"), l.address(), l.port()));
        }
      }
    }
    return found;
  }

  private static Set<Long> socketInodes(long pid) {
    Set<Long> inodes = new HashSet<>();
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "fd"))) {
      for (Path fd : fds) {
        try {
          String target = Files.readSymbolicLink(fd).toString();
          if (target.startsWith("socket:[")) {
            inodes.add(Long.parseLong(target.substring(8, target.length() - 1)));
          }
        } catch (NoSuchFileException e) {
          // closed meanwhile
        }
      }
    } catch (NoSuchFileException e) {
      return inodes; // exited meanwhile
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read /proc/" + pid + "/fd (needs the same user or root)", e);
    }
    return inodes;
  }

  /** inode → listener (pid unknown) over /proc/net/tcp and tcp6. */
  static Map<Long, Listener> listeningInodes() {
    Map<Long, Listener> map = new HashMap<>();
    for (String file : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      List<String> lines;
      try {
        lines = Files.readAllLines(Path.of(file));
      } catch (NoSuchFileException e) {
        continue;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      for (String line : lines.subList(1, lines.size())) {
        String[] f = line.trim().split("\\s+");
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        if (f.length < 10 || !"0A".equals(f[3])) {
          continue;
        }
        String[] local = f[1].split(":");
        map.put(Long.parseLong(f[9]), new Listener(0, "", address(local[0]), Integer.parseInt(local[1], 16)));
      }
    }
    return map;
  }

  /** /proc/net/tcp addresses are the kernel's 32-bit words in host (little-endian) order. */
  static InetAddress address(String hex) {
    byte[] raw = HexFormat.of().parseHex(hex);
    byte[] bytes = new byte[raw.length];
    for (int word = 0; word < raw.length; word += 4) {
      for (int i = 0; i < 4; i++) {
        bytes[word + i] = raw[word + 3 - i];
      }
    }
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("bad address " + hex, e);
    }
  }
}
