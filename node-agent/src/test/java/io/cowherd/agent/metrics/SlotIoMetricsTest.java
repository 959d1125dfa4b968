package io.cowherd.agent.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.export.AtaIoWatch;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The I/O watch's series as Prometheus shows them: the exact names and labels the chart's dashboard
 * and alert rules query (before any request: counters 0, last I/O NaN, no stage).
 */
class SlotIoMetricsTest {
  private static final Tags SLOT = Tags.of("namespace", "lab", "pool", "debian", "slot", "2", "target", "e7.2");

  @Test
  void everySeriesHasItsNameAndLabelsAndGoesWithItsSlot() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (AtaIoWatch watch = new AtaIoWatch(iface -> {
      throw new IOException("no interface in a unit test");
    }, Clock.systemUTC())) {
      watch.update(List.of(new AtaIoWatch.Exported("eth1", 7, 2, java.util.Set.of())));
      AtomicReference<Optional<String>> stage = new AtomicReference<>(Optional.empty());
      SlotIoMetrics metrics = new SlotIoMetrics(registry, watch);

      metrics.update(Map.of(SLOT, new SlotIoMetrics.Source(() -> watch.slot("eth1", 7, 2), stage::get)));
      String before = registry.scrape();
      stage.set(Optional.of("Reading"));
      String reading = registry.scrape();
      metrics.update(Map.of());
      String gone = registry.scrape();

      String labels = "namespace=\"lab\",pool=\"debian\",slot=\"2\",target=\"e7.2\"";
      assertThat(before).contains(
          "cowherd_slot_io_requests_total{namespace=\"lab\",op=\"read\",pool=\"debian\",slot=\"2\",target=\"e7.2\"} 0.0",
          "cowherd_slot_io_requests_total{namespace=\"lab\",op=\"write\",pool=\"debian\",slot=\"2\",target=\"e7.2\"} 0.0",
          "cowherd_slot_io_bytes_total{namespace=\"lab\",op=\"read\",pool=\"debian\",slot=\"2\",target=\"e7.2\"} 0.0",
          "cowherd_slot_io_bytes_total{namespace=\"lab\",op=\"write\",pool=\"debian\",slot=\"2\",target=\"e7.2\"} 0.0",
          "cowherd_slot_last_io_timestamp_seconds{" + labels + "} NaN",
          "cowherd_slot_boot_stage{namespace=\"lab\",pool=\"debian\",slot=\"2\",stage=\"Reading\",target=\"e7.2\"} 0.0",
          "cowherd_agent_io_watch_dropped_frames_total{interface=\"eth1\"} 0.0");
      for (String s : SlotIoMetrics.STAGES) {
        assertThat(reading).contains("cowherd_slot_boot_stage{namespace=\"lab\",pool=\"debian\",slot=\"2\",stage=\"" + s
            + "\",target=\"e7.2\"} " + (s.equals("Reading") ? "1.0" : "0.0"));
      }
      assertThat(gone).doesNotContain("cowherd_slot_io_requests_total{", "cowherd_slot_boot_stage{",
          "cowherd_slot_last_io_timestamp_seconds{");
    }
  }
}
