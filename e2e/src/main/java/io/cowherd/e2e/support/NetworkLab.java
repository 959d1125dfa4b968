package io.cowherd.e2e.support;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A private Ethernet segment for AoE tests, made only of objects this class creates and removes:
 *
 * <pre>
 *   root netns                 netns cwb-ID (bridge)             netns cwc-ID-N (client N)
 *   [cwaID] (exporter NIC) ─── [exporter] ─ br0 ─ [cN] ───────────────── [eth0]
 * </pre>
 *
 * ({@link #addHostNamespace} adds a simulated host's namespace {@code cwh-<ID>-<N>} whose exporter
 * NIC, a port of {@code br0}, has the same name as {@code cwa<ID>}.)
 *
 * The exporter end {@code cwa<ID>} stays in the root namespace so that the node agent (which also
 * talks to the API server on the loopback address) can run vblade on it, as on a host NIC. No
 * address is configured anywhere: AoE is plain Ethernet (ethertype 0x88A2).
 */
public final class NetworkLab implements AutoCloseable {
  private final String id;
  private final String bridgeNs;
  /** Prefix of the node agent's ingress guard table per interface (IngressGuard.TABLE_PREFIX). */
  static final String GUARD_TABLE_PREFIX = "cowherd_";
  private static final java.time.Duration NFT_TIMEOUT = java.time.Duration.ofSeconds(10);
  private final String exporterInterface;
  private final List<String> clientNamespaces = new ArrayList<>();
  private final List<String> extraBridgePorts = new ArrayList<>();
  private final List<String> hostNamespaces = new ArrayList<>();
  private int extraPorts;

  private NetworkLab(String id) {
    this.id = id;
    this.bridgeNs = "cwb-" + id;
    this.exporterInterface = "cwa" + id;
  }

  /**
   * Creates the bridge namespace and the exporter veth.
   *
   * @throws Commands.CommandException when {@code ip} fails (not root, no netns/veth/bridge support)
   */
  public static NetworkLab create() {
    byte[] random = new byte[3];
    new SecureRandom().nextBytes(random);
    NetworkLab lab = new NetworkLab(HexFormat.of().formatHex(random));
    try {
      lab.setUp();
    } catch (RuntimeException e) {
      lab.close();
      throw e;
    }
    return lab;
  }

  private void setUp() {
    Commands.run("ip", "netns", "add", bridgeNs);
    Commands.run("ip", "-n", bridgeNs, "link", "add", "br0", "type", "bridge");
    Commands.run("ip", "-n", bridgeNs, "link", "set", "dev", "br0", "up");
    Commands.run("ip", "link", "add", exporterInterface, "type", "veth", "peer", "name", "exporter", "netns", bridgeNs);
    Commands.run("ip", "-n", bridgeNs, "link", "set", "dev", "exporter", "master", "br0", "up");
    // No IPv6 autoconfiguration chatter on the test NIC; it carries AoE only.
    Commands.exec(Commands.DEFAULT_TIMEOUT,
        List.of("sysctl", "-q", "-w", "net.ipv6.conf." + exporterInterface + ".disable_ipv6=1"));
    Commands.run("ip", "link", "set", "dev", exporterInterface, "up");
  }

  /** The exporter NIC in the root namespace; a pool's {@code spec.interface}. */
  public String exporterInterface() {
    return exporterInterface;
  }

  /** The namespace holding the bridge (for attaching taps of client VMs). */
  public String bridgeNamespace() {
    return bridgeNs;
  }

  /**
   * Adds a client namespace {@code cwc-<ID>-<n>} whose {@code eth0} is a port of the bridge.
   *
   * @return the namespace name
   */
  public String addClientNamespace() {
    int n = clientNamespaces.size();
    String ns = "cwc-" + id + "-" + n;
    String port = "c" + n;
    Commands.run("ip", "netns", "add", ns);
    clientNamespaces.add(ns);
    Commands.run("ip", "-n", bridgeNs, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
    Commands.run("ip", "-n", bridgeNs, "link", "set", "dev", port, "master", "br0", "up");
    Commands.run("ip", "-n", ns, "link", "set", "dev", "lo", "up");
    Commands.run("ip", "-n", ns, "link", "set", "dev", "eth0", "up");
    return ns;
  }

  /** Adds a second exporter NIC in the root namespace on the same segment, e.g. for a rogue vblade. */
  public String addExporterInterface() {
    String name = "cwx" + id + extraBridgePorts.size();
    String port = "x" + extraBridgePorts.size();
    Commands.run("ip", "link", "add", name, "type", "veth", "peer", "name", port, "netns", bridgeNs);
    Commands.run("ip", "-n", bridgeNs, "link", "set", "dev", port, "master", "br0", "up");
    Commands.run("ip", "link", "set", "dev", name, "up");
    extraBridgePorts.add(name);
    return name;
  }

  /**
   * Adds an exporter NIC {@code name} inside network namespace {@code netns} (e.g. a Kubernetes
   * node's), as a veth whose peer is a port of the bridge. Removed with the bridge namespace.
   */
  public void addExporterInterfaceIn(String netns, String name) {
    String port = "n" + extraPorts++;
    Commands.run("ip", "-n", bridgeNs, "link", "add", port, "type", "veth", "peer", "name", name, "netns", netns);
    Commands.run("ip", "-n", bridgeNs, "link", "set", "dev", port, "master", "br0", "up");
    Commands.run("ip", "-n", netns, "link", "set", "dev", name, "up");
  }

  /**
   * Adds the network namespace {@code cwh-<ID>-<n>} of one more simulated host, with loopback up and
   * an exporter NIC named {@code interfaceName} (a veth whose peer is a port of the bridge, IPv6 off
   * inside the namespace): a second node agent there serves a pool on the same segment under the
   * same {@code spec.interface} as the lab's own agent. Removed when the lab's network closes.
   *
   * @return the namespace name
   */
  public String addHostNamespace(String interfaceName) {
    int n = hostNamespaces.size();
    String ns = "cwh-" + id + "-" + n;
    Commands.run("ip", "netns", "add", ns);
    hostNamespaces.add(ns);
    Commands.run("ip", "-n", ns, "link", "set", "dev", "lo", "up");
    addExporterInterfaceIn(ns, interfaceName);
    Commands.run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf." + interfaceName + ".disable_ipv6=1");
    return ns;
  }

  /**
   * MAC address of {@code interfaceName} inside network namespace {@code netns}, lower-case colon
   * notation (from {@code ip -br link show}: name, state, address, flags).
   */
  public static String macIn(String netns, String interfaceName) {
    String line = Commands.run("ip", "-n", netns, "-br", "link", "show", "dev", interfaceName).strip();
    String[] fields = line.split("\\s+");
    if (fields.length < 3 || !fields[2].matches("[0-9a-f]{2}(:[0-9a-f]{2}){5}")) {
      throw new IllegalStateException("no MAC address for " + interfaceName + " in " + netns + ": " + line);
    }
    return fields[2];
  }

  @Override
  public void close() {
    for (String ns : hostNamespaces) {
      Commands.exec(Commands.DEFAULT_TIMEOUT, List.of("ip", "netns", "del", ns));
    }
    for (String name : extraBridgePorts) {
      Commands.exec(Commands.DEFAULT_TIMEOUT, List.of("ip", "link", "del", name));
    }
    Commands.exec(Commands.DEFAULT_TIMEOUT, List.of("ip", "link", "del", exporterInterface));
    for (String ns : clientNamespaces) {
      Commands.exec(Commands.DEFAULT_TIMEOUT, List.of("ip", "netns", "del", ns));
    }
    Commands.exec(Commands.DEFAULT_TIMEOUT, List.of("ip", "netns", "del", bridgeNs));
    List<String> ifaces = new ArrayList<>(extraBridgePorts);
    ifaces.add(exporterInterface);
    removeGuardTables(ifaces);
  }

  /**
   * Deletes the node agent's ingress guard tables {@code netdev cowherd_<iface>} of exactly the
   * interfaces this lab made (the agent keeps them across restarts by design; the lab kills it and
   * deletes the interfaces), then checks none is left.
   *
   * @throws IllegalStateException if one is still there: the lab would leave host state behind
   */
  static void removeGuardTables(List<String> ifaces) {
    List<String> left = new ArrayList<>();
    for (String iface : ifaces) {
      String table = GUARD_TABLE_PREFIX + iface;
      Commands.Result deleted = Commands.exec(NFT_TIMEOUT, List.of("nft", "delete", "table", "netdev", table));
      if (deleted.exitCode() != 0 && !deleted.stderr().contains("No such file")) {
        System.err.println("cleanup: nft delete table netdev " + table + ": " + deleted.stderr().strip());
      }
      if (Commands.exec(NFT_TIMEOUT, List.of("nft", "list", "table", "netdev", table)).exitCode() == 0) {
        left.add(table);
      }
    }
    if (!left.isEmpty()) {
      throw new IllegalStateException("the lab leaves nftables table(s) netdev " + left + " behind on the host");
    }
  }
}
