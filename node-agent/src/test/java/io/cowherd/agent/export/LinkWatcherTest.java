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
}
