package io.cowherd.agent.dhcp;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InterfaceAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What cowherd's proxy DHCP (dnsmasq, {@link DnsmasqProxy}) answers on one interface, checked
 * against the node before anything starts, and the dnsmasq configuration it becomes.
 *
 * <p>Proxy DHCP (PXE specification 2.1, section 2.2.3; dnsmasq(8) {@code --dhcp-range=<net>,proxy})
 * hands out no addresses: the network's own DHCP server does that, and dnsmasq adds only the boot
 * information to each PXE client's discovery. Native PXE firmware gets Debian's iPXE over dnsmasq's
 * own TFTP ({@code undionly.kpxe} for BIOS, {@code ipxe.efi} for x86-64 UEFI, from
 * {@code tftpRoot}); iPXE (user class {@code iPXE}, RFC 3004 option 77) gets the agent's boot
 * endpoint URL {@code http://<address>:<bootPort>/boot/v1/boot.ipxe}. {@code port=0} turns off
 * dnsmasq's DNS server, so it never answers DNS on the node.
 *
 * @param iface the boot segment's interface on this node (it must exist and hold {@code address})
 * @param address the IPv4 address of this node on that segment, advertised as the TFTP and HTTP server
 * @param prefixLength the prefix length of that address (the proxy answers for that network)
 * @param bootPort the agent's boot endpoint port (1–65535)
 * @param tftpRoot directory with {@code undionly.kpxe} and {@code ipxe.efi} (Debian package {@code ipxe}: /usr/lib/ipxe)
 */
public record DhcpProxyConfig(String iface, Inet4Address address, int prefixLength, int bootPort, Path tftpRoot) {
  /** Debian's iPXE for BIOS PXE ROMs (uses the ROM's UNDI driver). */
  public static final String BIOS_BOOT_FILE = "undionly.kpxe";
  /** Debian's iPXE for x86-64 UEFI. */
  public static final String UEFI_BOOT_FILE = "ipxe.efi";
  /** Where Debian's {@code ipxe} package puts them. */
  public static final Path DEBIAN_IPXE = Path.of("/usr/lib/ipxe");
  private static final Pattern IFACE = Pattern.compile("[A-Za-z0-9_.:-]{1,15}");
  /** A TFTP root written into dnsmasq's config: no newline, comma (tftp-root's field separator), space or '#'. */
  private static final Pattern TFTP_ROOT = Pattern.compile("[A-Za-z0-9_./+@=-]{1,4000}");

  /** Looks up an interface's IPv4 addresses with prefix lengths (the JDK's {@link NetworkInterface}, or a fake in tests). */
  @FunctionalInterface
  public interface Addresses {
    /** The IPv4 addresses of {@code iface}, empty if it has none; empty Optional if it does not exist. */
    Optional<List<Ipv4>> of(String iface) throws SocketException;
  }

  /** One IPv4 address with its prefix length. */
  public record Ipv4(Inet4Address address, int prefixLength) {}

  /** The host's interfaces as the JDK sees them (netlink). */
  public static final Addresses HOST = iface -> {
    NetworkInterface nic = NetworkInterface.getByName(iface);
    if (nic == null) {
      return Optional.empty();
    }
    return Optional.of(nic.getInterfaceAddresses().stream()
        .filter(a -> a.getAddress() instanceof Inet4Address)
        .map((InterfaceAddress a) -> new Ipv4((Inet4Address) a.getAddress(), a.getNetworkPrefixLength()))
        .toList());
  };

  public DhcpProxyConfig {
    if (bootPort < 1 || bootPort > 65535) {
      throw new IllegalArgumentException("boot port must be 1-65535, got " + bootPort);
    }
    if (prefixLength < 0 || prefixLength > 32) {
      throw new IllegalArgumentException("prefix length must be 0-32, got " + prefixLength);
    }
    // every value reaches dnsmasq's config: none may carry its syntax (see dnsmasqConf)
    if (iface == null || !IFACE.matcher(iface).matches()) {
      throw new IllegalArgumentException("interface name of [A-Za-z0-9_.:-]{1,15}, got '" + iface + "'");
    }
    if (tftpRoot == null || !TFTP_ROOT.matcher(tftpRoot.toString()).matches()) {
      throw new IllegalArgumentException("TFTP root of [A-Za-z0-9_./+@=-], got '" + tftpRoot + "'");
    }
  }

  /**
   * Checks the settings against this node and resolves the address.
   *
   * @param iface interface name, e.g. {@code eth1}
   * @param address the address to advertise (dotted quad), or null/blank for the interface's only IPv4 address
   * @param bootPort the boot endpoint's port, or null when it is off
   * @param tftpRoot where the iPXE binaries are
   * @throws DhcpProxyConfigException naming what is wrong: no boot port, a malformed or missing
   *     interface, no IPv4 address or several without {@code address}, an address the interface
   *     does not hold, a TFTP root with characters dnsmasq's config would read as syntax, a missing
   *     iPXE binary
   */
  public static DhcpProxyConfig resolve(String iface, String address, Integer bootPort, Path tftpRoot, Addresses addresses)
      throws DhcpProxyConfigException {
    if (bootPort == null || bootPort < 1 || bootPort > 65535) {
      throw new DhcpProxyConfigException("proxy DHCP needs the boot endpoint: set --boot-port (chart: agent.bootPort)"
          + " to a port 1-65535, got " + bootPort);
    }
    if (iface == null || !IFACE.matcher(iface).matches()) {
      throw new DhcpProxyConfigException("proxy DHCP needs the boot segment's interface (--dhcp-interface), got '"
          + iface + "'");
    }
    List<Ipv4> held;
    try {
      held = addresses.of(iface).orElseThrow(() -> new DhcpProxyConfigException(
          "proxy DHCP interface " + iface + " does not exist on this node"));
    } catch (java.net.SocketException e) {
      throw new DhcpProxyConfigException("cannot read the addresses of interface " + iface + ": " + e.getMessage());
    }
    Ipv4 chosen;
    if (address == null || address.isBlank()) {
      if (held.size() != 1) {
        throw new DhcpProxyConfigException("interface " + iface + " has " + held.size() + " IPv4 addresses " + held
            + "; proxy DHCP needs exactly one, or --dhcp-address naming the one to advertise");
      }
      chosen = held.getFirst();
    } else {
      Inet4Address wanted = parseIpv4(address.strip());
      chosen = held.stream().filter(a -> a.address().equals(wanted)).findFirst().orElseThrow(() ->
          new DhcpProxyConfigException("interface " + iface + " does not hold " + address.strip() + " (it has "
              + held.stream().map(a -> a.address().getHostAddress() + "/" + a.prefixLength()).toList() + ")"));
    }
    if (tftpRoot == null || !TFTP_ROOT.matcher(tftpRoot.toString()).matches()) {
      throw new DhcpProxyConfigException("--tftp-root must be a path of letters, digits and _ . / + @ = - (it goes"
          + " into dnsmasq's configuration), got '" + tftpRoot + "'");
    }
    for (String file : List.of(BIOS_BOOT_FILE, UEFI_BOOT_FILE)) {
      if (!Files.isReadable(tftpRoot.resolve(file))) {
        throw new DhcpProxyConfigException("proxy DHCP serves " + tftpRoot.resolve(file)
            + " over TFTP, but it is missing (install Debian's ipxe package)");
      }
    }
    return new DhcpProxyConfig(iface, chosen.address(), chosen.prefixLength(), bootPort, tftpRoot);
  }

  private static Inet4Address parseIpv4(String text) throws DhcpProxyConfigException {
    if (!text.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
      throw new DhcpProxyConfigException("--dhcp-address must be an IPv4 address like 192.0.2.10, got '" + text + "'");
    }
    try {
      InetAddress a = InetAddress.getByName(text); // a literal: no lookup
      if (a instanceof Inet4Address v4) {
        return v4;
      }
    } catch (UnknownHostException e) {
      // falls through
    }
    throw new DhcpProxyConfigException("--dhcp-address must be an IPv4 address like 192.0.2.10, got '" + text + "'");
  }

  /** The network of {@link #address} (host bits zero), e.g. {@code 192.0.2.0}. */
  public String network() {
    byte[] b = address.getAddress();
    int value = ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
    int mask = prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
    return dotted(value & mask);
  }

  /** The netmask of {@link #prefixLength}, e.g. {@code 255.255.255.0}. */
  public String netmask() {
    return dotted(prefixLength == 0 ? 0 : -1 << (32 - prefixLength));
  }

  private static String dotted(int v) {
    return ((v >>> 24) & 0xff) + "." + ((v >>> 16) & 0xff) + "." + ((v >>> 8) & 0xff) + "." + (v & 0xff);
  }

  /** The URL iPXE clients are given: the agent's {@code boot.ipxe}. */
  public String bootUrl() {
    return "http://" + address.getHostAddress() + ":" + bootPort + "/boot/v1/boot.ipxe";
  }

  /**
   * The dnsmasq configuration file (dnsmasq(8) long options without the leading {@code --}, one a
   * line). Every value was checked by {@link #resolve}: an interface name of {@code [A-Za-z0-9_.:-]},
   * dotted quads, a port number and a path of {@code [A-Za-z0-9_./+@=-]} that exists.
   */
  public String dnsmasqConf() {
    String url = bootUrl();
    return String.join("\n",
        "# generated by the cowherd node agent; rewritten at every start",
        "port=0",                                       // no DNS server at all
        "interface=" + iface,
        "bind-dynamic",                                 // only this interface's address, also if it comes later
        "dhcp-range=" + network() + ",proxy," + netmask(),
        "leasefile-ro",                                 // a proxy leases nothing; the root filesystem may be read-only
        "enable-tftp",
        "tftp-root=" + tftpRoot,
        "dhcp-userclass=set:ipxe,iPXE",                 // iPXE sends user class "iPXE" (option 77)
        // Native PXE firmware: chainload Debian's iPXE. The file name has a dot: no ".0" layer suffix.
        "pxe-service=tag:!ipxe,x86PC,\"cowherd: loading iPXE\"," + BIOS_BOOT_FILE,
        "pxe-service=tag:!ipxe,x86-64_EFI,\"cowherd: loading iPXE\"," + UEFI_BOOT_FILE,
        // iPXE (Debian's, or a NIC ROM that is iPXE): the boot endpoint.
        "pxe-service=tag:ipxe,x86PC,\"cowherd\"," + url,
        "pxe-service=tag:ipxe,x86-64_EFI,\"cowherd\"," + url,
        "log-dhcp",
        "") ;
  }
}
