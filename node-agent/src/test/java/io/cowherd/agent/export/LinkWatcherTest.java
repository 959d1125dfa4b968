package io.cowherd.agent.export;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Lines of {@code ip -o monitor link} (iproute2 6.1), as printed for RTM_NEWLINK and RTM_DELLINK. */
class LinkWatcherTest {
  @Test
  void interfaceNameOfNewDeletedAndPeerLinkLines() {
    assertThat(LinkWatcher.interfaceOf("7: cwtmon1@NONE: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default \\"
        + "    link/ether ce:81:33:0f:16:a9 brd ff:ff:ff:ff:ff:ff")).contains("cwtmon1");
    assertThat(LinkWatcher.interfaceOf("8: cwtmon0@cwtmon1: <NO-CARRIER,BROADCAST,MULTICAST,UP,M-DOWN> mtu 1500"))
        .contains("cwtmon0");
    assertThat(LinkWatcher.interfaceOf("Deleted 8: cwtmon0@NONE: <BROADCAST,MULTICAST> mtu 1500 qdisc noop"))
        .contains("cwtmon0");
    assertThat(LinkWatcher.interfaceOf("2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500")).contains("eth0");
    assertThat(LinkWatcher.interfaceOf("    link/ether 1a:6d:a5:08:08:49 brd ff:ff:ff:ff:ff:ff")).isEmpty();
    assertThat(LinkWatcher.interfaceOf("")).isEmpty();
  }

  @Test
  void theChildDiesWithTheAgent() {
    LinkWatcher w = new LinkWatcher("ip", null, null);
    assertThat(w.argv()).containsExactly("setpriv", "--pdeathsig", "KILL", "--", "ip", "-o", "monitor", "link");
  }

  @Test
  void aNicsUnchangedLineRepeatedForEachMacvlanAndTheExporterLinksThemselvesAreNotForwarded() {
    java.util.Map<String, String> last = new java.util.HashMap<>();
    String nic = "3: va@vb: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \\    "
        + "link/ether 32:f9:cb:b4:7f:e2 brd ff:ff:ff:ff:ff:ff";
    assertThat(LinkWatcher.forward(nic, last)).contains("va");
    assertThat(LinkWatcher.forward("4: cw000101@va: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default",
        last)).as("an exporter link").isEmpty();
    assertThat(LinkWatcher.forward(nic, last)).as("the NIC's line again, unchanged").isEmpty();
    assertThat(LinkWatcher.forward(nic.replace(",UP,LOWER_UP>", ">").replace("state UP", "state DOWN"), last))
        .as("the NIC went down").contains("va");
    assertThat(LinkWatcher.forward(nic, last)).as("and up again").contains("va");
    assertThat(LinkWatcher.forward("Deleted " + nic, last)).as("deleted").contains("va");
    assertThat(LinkWatcher.forward(nic, last)).as("made again").contains("va");
    assertThat(LinkWatcher.forward("    link/ether 1a:6d:a5:08:08:49", last)).isEmpty();
  }
}
