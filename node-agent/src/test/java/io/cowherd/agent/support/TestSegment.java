package io.cowherd.agent.support;

import io.cowherd.aoe.frame.MacAddress;
import java.io.File;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An Ethernet segment for host tests, made of objects this test creates and deletes: a network
 * namespace {@code cwt<hex>-seg} holding bridge {@code br0}; the agent's interface {@code cwt<hex>}
 * in this (the root) namespace, its peer on the bridge; and "other hosts", each a namespace {@code
 * cwt<hex>-h<n>} whose interface {@code aoe0} (MAC {@code 02:cc:<hex>:<n>}) is on the bridge too.
 * Nothing else is touched and no traffic leaves the segment.
 */
public final class TestSegment implements AutoCloseable {
  private final String id;
  private final String segmentNs;
  private final String agentIface;
  private final List<String> hosts = new ArrayList<>();
  private final List<Process> exporters = new ArrayList<>();
  private final Path ip;
  private String secondIface;

  private TestSegment(String id, Path ip) {
    this.id = id;
    this.ip = ip;
    this.segmentNs = id + "-seg";
    this.agentIface = id;
  }

  /** Creates the bridge and the agent's interface. Fails the test without root or ip(8). */
  public static TestSegment create() {
    HostTools.requireRoot();
    Path ip = HostTools.requireProgram("ip", "iproute2");
    TestSegment seg = new TestSegment(HostTools.uniqueIfaceName(), ip);
    try {
      seg.ip("netns", "add", seg.segmentNs);
      seg.ip("-n", seg.segmentNs, "link", "add", "br0", "type", "bridge");
      seg.ip("-n", seg.segmentNs, "link", "set", "br0", "up");
      seg.ip("link", "add", seg.agentIface, "type", "veth", "peer", "name", "agent", "netns", seg.segmentNs);
      seg.ip("-n", seg.segmentNs, "link", "set", "agent", "master", "br0", "up");
      seg.ip("link", "set", seg.agentIface, "up");
      return seg;
    } catch (RuntimeException e) {
      seg.close();
      throw e;
    }
  }

  /**
   * Adds a second interface of this host on the segment: {@code cwt<hex>b} in the root namespace,
   * its peer {@code agent1} on the bridge (a node with two NICs on one L2 segment). Deleted by
   * {@link #close}.
   *
   * @return its name
   */
  public String addAgentIface() {
    String name = agentIface + "b";
    ip("link", "add", name, "type", "veth", "peer", "name", "agent1", "netns", segmentNs);
    ip("-n", segmentNs, "link", "set", "agent1", "master", "br0", "up");
    ip("link", "set", name, "up");
    secondIface = name;
    return name;
  }

  /** The agent's interface (root namespace), bridged to the segment. */
  public String agentIface() {
    return agentIface;
  }

  /**
   * Adds another host on the segment: namespace {@code cwt<hex>-h<n>} with interface {@code aoe0}.
   *
   * @return the host's namespace
   */
  public String addHost() {
    int n = hosts.size();
    String ns = id + "-h" + n;
    ip("netns", "add", ns);
    hosts.add(ns);
    ip("-n", segmentNs, "link", "add", "port" + n, "type", "veth", "peer", "name", "aoe0", "address",
        hostMac(n).toString(), "netns", ns);
    ip("-n", segmentNs, "link", "set", "port" + n, "master", "br0", "up");
    ip("-n", ns, "link", "set", "aoe0", "up");
    return ns;
  }

  /** MAC of the {@code n}th host's {@code aoe0}. */
  public MacAddress hostMac(int n) {
    return new MacAddress((0x02ccL << 32) | (Long.parseLong(id.substring(3), 16) << 8) | n);
  }

  /** Starts {@code vblade shelf slot aoe0 file} on host {@code n}: an exporter not of this agent. */
  public Process startExporter(int n, int shelf, int slot, Path file) throws IOException {
    Path vblade = HostTools.requireProgram("vblade", "vblade");
    Process p = new ProcessBuilder(ip.toString(), "netns", "exec", hosts.get(n), vblade.toString(),
        Integer.toString(shelf), Integer.toString(slot), "aoe0", file.toString())
        .redirectInput(Redirect.from(new File("/dev/null"))).redirectOutput(Redirect.DISCARD)
        .redirectError(Redirect.DISCARD).start();
    exporters.add(p);
    return p;
  }

  /** Stops an exporter started by {@link #startExporter} and waits for it. */
  public static void stop(Process exporter) throws InterruptedException {
    exporter.destroy();
    if (!exporter.waitFor(5, TimeUnit.SECONDS)) {
      exporter.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
  }

  /**
   * Stops the exporters, deletes every namespace (and with them every veth) made here and the
   * ingress guard tables of this host's interfaces ({@link HostTools#removeGuardTables}).
   */
  @Override
  public void close() {
    for (Process p : exporters) {
      try {
        stop(p);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (String ns : hosts) {
      HostTools.runQuietly(ip.toString(), "netns", "del", ns);
    }
    HostTools.runQuietly(ip.toString(), "netns", "del", segmentNs);
    if (Files.exists(Path.of("/sys/class/net", agentIface))) {
      HostTools.runQuietly(ip.toString(), "link", "del", agentIface);
    }
    if (secondIface != null && Files.exists(Path.of("/sys/class/net", secondIface))) {
      HostTools.runQuietly(ip.toString(), "link", "del", secondIface);
    }
    HostTools.removeGuardTables(agentIface, secondIface);
  }

  private void ip(String... args) {
    List<String> argv = new ArrayList<>(List.of(ip.toString()));
    argv.addAll(List.of(args));
    HostTools.run(argv.toArray(String[]::new));
  }
}
