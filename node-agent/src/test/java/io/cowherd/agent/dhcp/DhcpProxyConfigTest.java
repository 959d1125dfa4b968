package io.cowherd.agent.dhcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Proxy DHCP settings are checked before anything starts, and become the dnsmasq config the e2e test runs. */
class DhcpProxyConfigTest {
  @TempDir
  Path tftp;

  private final Map<String, List<DhcpProxyConfig.Ipv4>> nics = Map.of(
      "eth1", List.of(ipv4("192.0.2.10", 24)),
      "eth2", List.of(ipv4("198.51.100.7", 25), ipv4("203.0.113.9", 24)),
      "eth3", List.of());
  private final DhcpProxyConfig.Addresses addresses = iface -> Optional.ofNullable(nics.get(iface));

  @BeforeEach
  void bootFiles() throws Exception {
    Files.writeString(tftp.resolve("undionly.kpxe"), "x");
    Files.writeString(tftp.resolve("ipxe.efi"), "x");
  }

  @Test
  void theOnlyAddressOfTheInterfaceIsAdvertisedAndTheConfigIsAProxyWithoutDns() throws Exception {
    DhcpProxyConfig c = DhcpProxyConfig.resolve("eth1", null, 8067, tftp, addresses);
    assertThat(c.network()).isEqualTo("192.0.2.0");
    assertThat(c.netmask()).isEqualTo("255.255.255.0");
    assertThat(c.bootUrl()).isEqualTo("http://192.0.2.10:8067/boot/v1/boot.ipxe");
    assertThat(c.dnsmasqConf().lines().toList()).contains(
        "port=0",
        "interface=eth1",
        "dhcp-range=192.0.2.0,proxy,255.255.255.0",
        "enable-tftp",
        "tftp-root=" + tftp,
        "dhcp-userclass=set:ipxe,iPXE",
        "pxe-service=tag:!ipxe,x86PC,\"cowherd: loading iPXE\",undionly.kpxe",
        "pxe-service=tag:!ipxe,x86-64_EFI,\"cowherd: loading iPXE\",ipxe.efi",
        "pxe-service=tag:ipxe,x86PC,\"cowherd\",http://192.0.2.10:8067/boot/v1/boot.ipxe");
    assertThat(c.dnsmasqConf()).doesNotContain("dhcp-range=192.0.2.0,192"); // never hands out addresses
  }

  @Test
  void anAddressIsChosenAmongSeveralAndItsPrefixGivesTheNetwork() throws Exception {
    DhcpProxyConfig c = DhcpProxyConfig.resolve("eth2", "198.51.100.7", 8067, tftp, addresses);
    assertThat(c.network()).isEqualTo("198.51.100.0");
    assertThat(c.netmask()).isEqualTo("255.255.255.128");
  }

  @Test
  void badSettingsAreRefusedWithAMessageNamingThem() {
    assertThatThrownBy(() -> DhcpProxyConfig.resolve("eth9", null, 8067, tftp, addresses))
        .isInstanceOf(DhcpProxyConfigException.class).hasMessage("proxy DHCP interface eth9 does not exist on this node");
    assertThatThrownBy(() -> DhcpProxyConfig.resolve("eth1", null, null, tftp, addresses))
        .hasMessageContaining("proxy DHCP needs the boot endpoint: set --boot-port");
    assertThatThrownBy(() -> DhcpProxyConfig.resolve("eth1\nport=53", null, 8067, tftp, addresses))
        .hasMessageContaining("needs the boot segment's interface");
    assertThatThrownBy(() -> DhcpProxyConfig.resolve(null, null, 8067, tftp, addresses))
        .hasMessageContaining("needs the boot segment's interface");
    assertThatThrownBy(() -> DhcpProxyConfig.resolve("eth2", null, 8067, tftp, addresses))
        .hasMessageContaining("has 2 IPv4 addresses");
    assertThatThrownBy(() -> DhcpProxyConfig.resolve("eth3", null, 8067, tftp, addresses))
        .hasMessageContaining("has 0 IPv4 addresses");
    assertThatThrownBy(() -> DhcpProxyConfig.resolve("eth1", "192.0.2.11", 8067, tftp, addresses))
        .hasMessage("interface eth1 does not hold 192.0.2.11 (it has [192.0.2.10/24])");
    assertThatThrownBy(() -> DhcpProxyConfig.resolve("eth1", "boot.example", 8067, tftp, addresses))
        .hasMessageContaining("must be an IPv4 address");
    assertThatThrownBy(() -> DhcpProxyConfig.resolve("eth1", null, 8067, tftp.resolve("nowhere"), addresses))
        .hasMessageContaining("undionly.kpxe over TFTP, but it is missing");
  }

  /**
   * A TFTP root that exists but whose name would change dnsmasq's configuration (a newline starts
   * another option, a comma adds tftp-root's interface field, " #" starts a comment) is refused
   * before the file is written, not passed on.
   */
  @Test
  void aTftpRootThatWouldInjectIntoTheDnsmasqConfigIsRefused() throws Exception {
    for (String name : List.of("x\nconf-file=/etc/evil.conf\ny", "a,eth0", "a #b", "a\tb", "a\rb")) {
      Path root = Files.createDirectories(tftp.resolve(name));
      Files.writeString(root.resolve("undionly.kpxe"), "x");
      Files.writeString(root.resolve("ipxe.efi"), "x");
      assertThatThrownBy(() -> DhcpProxyConfig.resolve("eth1", null, 8067, root, addresses))
          .as("tftp root %s", name)
          .isInstanceOf(DhcpProxyConfigException.class).hasMessageContaining("--tftp-root");
      assertThatThrownBy(() -> new DhcpProxyConfig("eth1", ipv4("192.0.2.10", 24).address(), 24, 8067, root))
          .as("made directly, tftp root %s", name).isInstanceOf(IllegalArgumentException.class);
    }
    assertThatThrownBy(() -> new DhcpProxyConfig("eth1\nport=53", ipv4("192.0.2.10", 24).address(), 24, 8067, tftp))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static DhcpProxyConfig.Ipv4 ipv4(String a, int prefix) {
    try {
      return new DhcpProxyConfig.Ipv4((Inet4Address) InetAddress.getByName(a), prefix);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
