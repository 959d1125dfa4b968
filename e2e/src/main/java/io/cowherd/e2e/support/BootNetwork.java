package io.cowherd.e2e.support;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The IP side of a {@link Lab}'s boot segment, so that clients can boot from their NIC's PXE ROM
 * through the front door: a /24 of 198.18.0.0/15 (the test range of RFC 2544) with the node agent's
 * address on the lab's exporter veth ({@code .1}, root namespace) and the bridge's ({@code .2}, the
 * lab's bridge namespace), the agent restarted (with the lab's {@code --boot-port}) and, in proxy mode,
 * {@code --dhcp-mode proxy}, and a {@link DhcpServer} in the bridge namespace. Only objects the lab
 * made get addresses; they go away with it, and the lab closes this (its DHCP server) before its
 * network.
 */
public final class BootNetwork implements AutoCloseable {
  private final Lab lab;
  private final Path logDir;
  private final String subnet;
  private final List<String> agentArgs;
  private DhcpServer dhcp;

  private BootNetwork(Lab lab, Path logDir, String subnet, List<String> agentArgs) {
    this.lab = lab;
    this.logDir = logDir;
    this.subnet = subnet;
    this.agentArgs = List.copyOf(agentArgs);
  }

  /**
   * cowherd's proxy DHCP beside a DHCP server that hands out addresses only (a network whose DHCP
   * server cowherd may not change): addresses, agent restarted with {@code
   * --dhcp-mode proxy --dhcp-interface <exporter veth>} (waits for its "proxy DHCP on" log line), and
   * the plain server.
   */
  public static BootNetwork withProxyDhcp(Lab lab, Path logDir) {
    return withProxyDhcp(lab, logDir, List.of());
  }

  /**
   * As {@link #withProxyDhcp(Lab, Path)}, the agent started (now and on every restart by this
   * object) with {@code agentArgs} after the boot and DHCP ones, e.g. {@code --silent-after-seconds 5}.
   */
  public static BootNetwork withProxyDhcp(Lab lab, Path logDir, List<String> agentArgs) {
    String subnet = "198.18." + (1 + new SecureRandom().nextInt(250));
    BootNetwork net = new BootNetwork(lab, logDir, subnet, agentArgs);
    lab.closeWithLab(net);
    Commands.run("ip", "addr", "add", net.agentAddress() + "/24", "dev", lab.network().exporterInterface());
    Commands.run("ip", "-n", lab.network().bridgeNamespace(), "addr", "add", subnet + ".2/24", "dev", "br0");
    net.restartAgent(true);
    net.dhcp = DhcpServer.start("plain-dhcp", lab.network().bridgeNamespace(), "br0", logDir, List.of(net.range()));
    return net;
  }

  /**
   * Switches to the user's own DHCP server: the agent restarted without proxy DHCP, and a dnsmasq
   * with the address range and {@code lines} (which point PXE clients at the boot endpoint).
   */
  public void useOwnDhcpServer(List<String> lines) {
    dhcp.close();
    dhcp = null;
    restartAgent(false);
    List<String> all = new ArrayList<>(List.of(range()));
    all.addAll(lines);
    dhcp = DhcpServer.start("users-dhcp", lab.network().bridgeNamespace(), "br0", logDir, all);
  }

  private String range() {
    return "dhcp-range=" + subnet + ".100," + subnet + ".199,255.255.255.0,1h";
  }

  private void restartAgent(boolean proxy) {
    lab.agent().close();
    List<String> args = new ArrayList<>(List.of("--boot-address", agentAddress())); // the boot segment only
    if (proxy) {
      args.addAll(List.of("--dhcp-mode", "proxy", "--dhcp-interface", lab.network().exporterInterface()));
    }
    args.addAll(agentArgs);
    ManagedProcess agent = lab.startAgent(args);
    if (proxy) {
      agent.awaitLogLine("proxy DHCP on " + lab.network().exporterInterface(), Duration.ofSeconds(30));
    }
  }

  /** The agent's address on the boot segment. */
  public String agentAddress() {
    return subnet + ".1";
  }

  /** Address {@code host} of the boot segment's /24 (3–99 are free: .1 agent, .2 bridge, .100–.199 DHCP), e.g. for a client namespace. */
  public String address(int host) {
    return subnet + "." + host;
  }

  /** The agent's boot endpoint port (the lab's: every lab agent runs a boot endpoint). */
  public int bootPort() {
    return lab.bootPort();
  }

  /** The DHCP server running now. */
  public DhcpServer dhcp() {
    return dhcp;
  }

  @Override
  public void close() {
    if (dhcp != null) {
      dhcp.close();
    }
  }
}
