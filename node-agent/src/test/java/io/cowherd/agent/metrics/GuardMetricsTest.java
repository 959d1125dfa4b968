package io.cowherd.agent.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.export.IngressGuard;
import io.cowherd.agent.export.IngressGuardTest;
import io.cowherd.agent.host.FakeCommandRunner;
import io.cowherd.agent.host.Nft;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.support.Segments;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The guard's meters as Prometheus shows them. */
class GuardMetricsTest {
  private static final List<String> LIST = List.of("nft", "-j", "list", "table", "netdev", "cowherd_eth1");

  @Test
  void droppedFramesPerCommandAndTheGuardStateAreExported() {
    FakeCommandRunner nft = new FakeCommandRunner().once(LIST, IngressGuardTest.table(0, 0, 0))
        .on(LIST, IngressGuardTest.table(3, 1, 0, "02:cc:00:00:00:09"));
    IngressGuard guard = new IngressGuard(new Nft(nft, "nft"), Clock.systemUTC(), changed -> {}, Optional.empty());
    guard.ensure(new SlotId("lab", "debian", 1), "eth1");
    guard.poll();
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    new GuardMetrics(registry, guard, Segments.silentWatch(null)).refresh();

    String text = registry.scrape();
    assertThat(text).contains("cowherd_guard_dropped_frames_total{command=\"mask-list\",interface=\"eth1\"} 3.0");
    assertThat(text).contains("cowherd_guard_dropped_frames_total{command=\"reserve-release\",interface=\"eth1\"} 1.0");
    assertThat(text).contains("cowherd_guard_dropped_frames_total{command=\"config-set\",interface=\"eth1\"} 0.0");
    assertThat(text).contains("cowherd_guard_active{interface=\"eth1\"} 1.0");
  }
}
