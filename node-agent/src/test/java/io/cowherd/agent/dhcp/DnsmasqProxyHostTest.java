package io.cowherd.agent.dhcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.export.Backoff;
import io.cowherd.agent.support.HostTools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real dnsmasq (Debian dnsmasq-base) as the agent supervises it, on a veth pair this test
 * makes and deletes (one end gets an address of 198.18.0.0/15, the RFC 2544 test range): it serves
 * within the start timeout, comes back after it is killed, one left behind by a killed agent is
 * killed at the next start, a start that exits is an error, and close stops it.
 */
@Tag("host")
class DnsmasqProxyHostTest {
  @TempDir Path stateDir;
  private String veth;
  private ScheduledExecutorService scheduler;
  private DhcpProxyConfig config;

  @BeforeEach
  void setUp() throws Exception {
    HostTools.requireRoot();
    HostTools.requireProgram("dnsmasq", "dnsmasq-base");
    veth = HostTools.createVethPair();
    HostTools.run("ip", "addr", "add", "198.19." + ThreadLocalRandom.current().nextInt(1, 250) + ".1/24", "dev", veth);
    scheduler = Executors.newSingleThreadScheduledExecutor();
    config = DhcpProxyConfig.resolve(veth, null, 8067, DhcpProxyConfig.DEBIAN_IPXE, DhcpProxyConfig.HOST);
  }

  @AfterEach
  void tearDown() {
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
    HostTools.deleteVethPair(veth);
  }

  @Test
  void servesComesBackAfterAKillAndStopsOnClose() throws Exception {
    Backoff fast = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), Duration.ofSeconds(60));
    DnsmasqProxy proxy = DnsmasqProxy.start("dnsmasq", stateDir, config, scheduler, fast, Clock.systemUTC(),
        DnsmasqProxy.START_TIMEOUT);
    long first = proxy.pid();
    try {
      assertThat(first).isPositive();
      assertThat(Files.readString(stateDir.resolve("dhcp-proxy/dnsmasq.conf"))).isEqualTo(config.dnsmasqConf());
      assertThat(cmdline(first)).contains("--conf-file=" + stateDir.resolve("dhcp-proxy/dnsmasq.conf"));

      ProcessHandle.of(first).orElseThrow().destroyForcibly();
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        assertThat(proxy.restarts()).isEqualTo(1);
        assertThat(proxy.pid()).isPositive().isNotEqualTo(first);
      });

      // An agent killed with SIGKILL leaves its dnsmasq (it dropped root, which clears the parent-death
      // signal): the next start with the same state dir kills it first.
      long leftover = proxy.pid();
      DnsmasqProxy next = DnsmasqProxy.start("dnsmasq", stateDir, config, scheduler, fast, Clock.systemUTC(),
          DnsmasqProxy.START_TIMEOUT);
      try {
        assertThat(ProcessHandle.of(leftover).map(ProcessHandle::isAlive).orElse(false)).as("leftover").isFalse();
        assertThat(next.pid()).isPositive().isNotEqualTo(leftover);
      } finally {
        next.close();
      }
    } finally {
      long last = proxy.pid();
      proxy.close();
      assertThat(ProcessHandle.of(last).map(ProcessHandle::isAlive).orElse(false)).as("dnsmasq after close").isFalse();
    }
  }

  @Test
  void aProgramThatExitsDuringStartIsAnErrorAndNothingRuns() {
    assertThatThrownBy(() -> DnsmasqProxy.start("false", stateDir, config, scheduler, Backoff.DEFAULT,
        Clock.systemUTC(), DnsmasqProxy.START_TIMEOUT))
        .isInstanceOf(IOException.class).hasMessageContaining("exited during start");
  }

  @Test
  void theAgentsStartKeepsTryingAProxyThatCannotStartInsteadOfFailing() throws Exception {
    DnsmasqProxy proxy = DnsmasqProxy.startOrRetry("false", stateDir, config, scheduler, Backoff.DEFAULT,
        Clock.systemUTC(), DnsmasqProxy.START_TIMEOUT);
    try {
      assertThat(proxy.pid()).as("nothing serving").isEqualTo(-1);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(proxy.restarts()).isGreaterThanOrEqualTo(1));
      assertThat(proxy.pid()).isEqualTo(-1);
    } finally {
      proxy.close();
    }
  }

  private static String cmdline(long pid) throws IOException {
    return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"))).replace('\0', ' ');
  }
}
