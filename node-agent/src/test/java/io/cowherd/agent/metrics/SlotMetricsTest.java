package io.cowherd.agent.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.http.AgentHttpServer;
import io.cowherd.agent.support.Slots;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class SlotMetricsTest {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final List<AoeBootSlot> slots = new ArrayList<>();
  private final SlotMetrics metrics = new SlotMetrics(registry, () -> slots.stream());

  @Test
  void eachServedSlotHasCowSectorsAndExporterRestarts() {
    slots.add(served(0, 128, 2_097_152, 0));
    slots.add(served(1, 4096, 2_097_152, 3));

    metrics.refresh();

    assertThat(registry.scrape()).contains(
        "cowherd_slot_cow_used_sectors{namespace=\"lab\",pool=\"debian\",slot=\"0\",target=\"e7.0\"} 128.0",
        "cowherd_slot_cow_used_sectors{namespace=\"lab\",pool=\"debian\",slot=\"1\",target=\"e7.1\"} 4096.0",
        "cowherd_slot_cow_total_sectors{namespace=\"lab\",pool=\"debian\",slot=\"1\",target=\"e7.1\"} 2097152.0",
        "cowherd_slot_exporter_restarts_total{namespace=\"lab\",pool=\"debian\",slot=\"1\",target=\"e7.1\"} 3.0");
  }

  @Test
  void deletedSlotLosesItsSeriesAndNewValuesAreRead() {
    slots.add(served(0, 128, 1024, 0));
    slots.add(served(1, 256, 1024, 1));
    metrics.refresh();

    slots.remove(1);
    slots.set(0, served(0, 512, 1024, 2));
    metrics.refresh();

    String text = registry.scrape();
    assertThat(text).doesNotContain("slot=\"1\"");
    assertThat(text).contains("cowherd_slot_cow_used_sectors{namespace=\"lab\",pool=\"debian\",slot=\"0\",target=\"e7.0\"} 512.0",
        "cowherd_slot_exporter_restarts_total{namespace=\"lab\",pool=\"debian\",slot=\"0\",target=\"e7.0\"} 2.0");
  }

  @Test
  void aStaleSlotIsOneAndAnUpdatedSlotZero() {
    AoeBootSlot stale = served(0, 128, 1024, 0);
    io.cowherd.api.v1alpha1.SlotOrigin old = new io.cowherd.api.v1alpha1.SlotOrigin("/srv/v1.img", "dev=1 ino=2 size=3 ctime=4.5", false, null);
    old.setStale(true);
    stale.getStatus().setOrigin(old);
    AoeBootSlot updated = served(1, 128, 1024, 0);
    io.cowherd.api.v1alpha1.SlotOrigin now = new io.cowherd.api.v1alpha1.SlotOrigin("/srv/v2.img", "dev=1 ino=9 size=3 ctime=4.5", false, null);
    now.setStale(false);
    updated.getStatus().setOrigin(now);
    slots.add(stale);
    slots.add(updated);

    metrics.refresh();

    assertThat(registry.scrape()).contains(
        "cowherd_slot_origin_stale{namespace=\"lab\",pool=\"debian\",slot=\"0\",target=\"e7.0\"} 1.0",
        "cowherd_slot_origin_stale{namespace=\"lab\",pool=\"debian\",slot=\"1\",target=\"e7.1\"} 0.0");
  }

  @Test
  void slotWithoutStatusHasNoSeries() {
    slots.add(Slots.aSlot().slot(4).build());

    metrics.refresh();

    assertThat(registry.scrape()).doesNotContain("slot=\"4\"");
  }

  @Test
  void httpServerAnswersProbesAndServesMetrics() throws Exception {
    AtomicBoolean started = new AtomicBoolean(false);
    AtomicBoolean healthy = new AtomicBoolean(true);
    slots.add(served(0, 128, 1024, 0));
    try (AgentHttpServer server = AgentHttpServer.start(0, started::get, healthy::get,
        Optional.of(() -> { metrics.refresh(); return registry.scrape(); }))) {
      HttpClient http = HttpClient.newHttpClient();
      assertThat(get(http, server, "/readyz").statusCode()).isEqualTo(503);
      assertThat(get(http, server, "/healthz").statusCode()).isEqualTo(200);

      started.set(true);
      healthy.set(false);
      assertThat(get(http, server, "/readyz").statusCode()).isEqualTo(200);
      assertThat(get(http, server, "/healthz").statusCode()).isEqualTo(503);

      HttpResponse<String> scrape = get(http, server, "/metrics");
      assertThat(scrape.statusCode()).isEqualTo(200);
      assertThat(scrape.body()).contains("cowherd_slot_cow_used_sectors{");
      assertThat(get(http, server, "/other").statusCode()).isEqualTo(404);
    }
  }

  private static HttpResponse<String> get(HttpClient http, AgentHttpServer server, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static AoeBootSlot served(int slot, long usedSectors, long totalSectors, int restarts) {
    AoeBootSlot s = Slots.aSlot().slot(slot).build();
    AoeBootSlotStatus status = new AoeBootSlotStatus();
    status.setTarget("e7." + slot);
    status.setCowUsedSectors(usedSectors);
    status.setCowTotalSectors(totalSectors);
    status.setRestarts(restarts);
    s.setStatus(status);
    return s;
  }
}
