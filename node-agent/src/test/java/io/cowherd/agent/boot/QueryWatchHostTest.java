package io.cowherd.agent.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.support.HostTools;
import io.cowherd.agent.support.TestSegment;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.InitiatorOptions;
import io.cowherd.aoe.net.RawSocket;
import io.cowherd.api.MacAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The "queried" stage from the wire: on a test-made segment ({@link TestSegment}), the project's
 * initiator in another namespace discovers targets (broadcast Query Config); the watch on the
 * agent's interface reports that host's MAC once per {@link QueryWatch#DEBOUNCE}, and nothing from
 * the other host, which sends no query.
 */
@Tag("host")
class QueryWatchHostTest {
  private TestSegment segment;
  private QueryWatch watch;

  @AfterEach
  void tearDown() {
    if (watch != null) {
      watch.close();
    }
    if (segment != null) {
      segment.close();
    }
  }

  @Test
  void aHostDiscoveringTargetsIsReportedByItsMacOncePerDebounce() throws Exception {
    HostTools.requireRoot();
    segment = TestSegment.create();
    String clientNs = segment.addHost();
    segment.addHost(); // a second host that stays silent
    List<MacAddress> seen = new CopyOnWriteArrayList<>();
    watch = new QueryWatch(RawSocket::open, (mac, at) -> seen.add(mac), Clock.systemUTC());
    watch.watch(segment.agentIface());
    await().atMost(Duration.ofSeconds(5)).until(() -> watch.watching(segment.agentIface()));

    MacAddress client = MacAddress.parse(segment.hostMac(0).toString()).orElseThrow();
    try (AoeInitiator initiator = AoeInitiator.openInNamespace(clientNs, "aoe0", InitiatorOptions.defaults())) {
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        initiator.discover(Duration.ofMillis(200));
        assertThat(seen).contains(client);
      });
      for (int i = 0; i < 5; i++) {
        initiator.discover(Duration.ofMillis(50));
      }
    }
    assertThat(seen).as("one report per MAC within %s", QueryWatch.DEBOUNCE).containsExactly(client);
  }
}
