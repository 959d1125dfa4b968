package io.cowherd.e2e.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A DHCP server of the network, as a user's would be: Debian's dnsmasq in a network namespace a
 * test made (the {@link NetworkLab}'s bridge namespace), in the foreground, with {@code port=0} (no
 * DNS) and the configuration lines the test gives (for example the snippet of
 * docs/booting-clients.md). Closing stops it.
 */
public final class DhcpServer implements AutoCloseable {
  private final ManagedProcess process;

  private DhcpServer(ManagedProcess process) {
    this.process = process;
  }

  /**
   * Writes {@code <dir>/<name>.conf} with {@code port=0}, {@code interface=<iface>},
   * {@code bind-dynamic}, a lease file in {@code dir} and then {@code lines}, starts dnsmasq in
   * {@code netns} and waits until it logs its DHCP socket.
   *
   * @throws IllegalStateException when dnsmasq exits or is not serving within 20 s (its log names why)
   */
  public static DhcpServer start(String name, String netns, String iface, Path dir, List<String> lines) {
    try {
      Files.createDirectories(dir);
      Path conf = dir.resolve(name + ".conf");
      StringBuilder text = new StringBuilder("port=0\ninterface=" + iface + "\nbind-dynamic\nlog-dhcp\n"
          + "dhcp-leasefile=" + dir.resolve(name + ".leases") + "\n");
      lines.forEach(l -> text.append(l).append('\n'));
      Files.writeString(conf, text);
      ManagedProcess p = ManagedProcess.start(name, List.of("ip", "netns", "exec", netns, "dnsmasq",
          "--keep-in-foreground", "--conf-file=" + conf, "--log-facility=-", "--pid-file="), Map.of(),
          dir.resolve(name + ".log"));
      DhcpServer server = new DhcpServer(p);
      try {
        p.awaitLogLine("DHCP, ", Duration.ofSeconds(20));
      } catch (RuntimeException e) {
        server.close();
        throw e;
      }
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** dnsmasq's log (with {@code log-dhcp}: every request and answer). */
  public Path log() {
    return process.log();
  }

  @Override
  public void close() {
    process.close();
  }
}
