package io.cowherd.operator.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.operator.metrics.CowherdMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class HttpEndpointsTest {
  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean leading = new AtomicBoolean();
  private final AtomicReference<Map<String, Map<String, Object>>> unhealthy = new AtomicReference<>(Map.of());

  private OperatorHealth health(boolean leaderElection) {
    return new OperatorHealth(started::get, leaderElection, leading::get, unhealthy::get);
  }

  @Test
  void livenessPassesWhileStartingAndOnStandbyAndFailsOnBrokenInformers() {
    OperatorHealth health = health(true);
    assertThat(health.liveness().ok()).isTrue();
    assertThat(health.readiness().ok()).isFalse();

    started.set(true);
    unhealthy.set(Map.of("aoebootpool", Map.of("nodes", "UNHEALTHY")));
    assertThat(health.liveness()).isEqualTo(HealthStatus.ok("standby: another replica holds the Lease"));
    assertThat(health.readiness()).isEqualTo(HealthStatus.ok("ready (standby)"));

    leading.set(true);
    assertThat(health.liveness()).isEqualTo(HealthStatus.failing("unhealthy event sources: aoebootpool: nodes"));

    unhealthy.set(Map.of("aoebootpool", Map.of()));
    assertThat(health.liveness()).isEqualTo(HealthStatus.ok("ok"));
  }

  @Test
  void withoutLeaderElectionInformersDecideLiveness() {
    started.set(true);
    unhealthy.set(Map.of("agent-liveness", Map.of("agent-leases", "UNHEALTHY")));

    assertThat(health(false).liveness().ok()).isFalse();
    assertThat(health(false).readiness().ok()).isTrue();
  }

  @Test
  void servesProbesAndPrometheusMetrics() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new CowherdMetrics(registry).reconcileError("aoebootpool", "SlotWriteFailed");
    try (HttpEndpoints http = HttpEndpoints.start(0, health(false), Optional.of(registry))) {
      HttpClient client = HttpClient.newHttpClient();
      assertThat(get(client, http, "/readyz").statusCode()).isEqualTo(503);
      started.set(true);
      assertThat(get(client, http, "/readyz").body()).isEqualTo("ready\n");
      assertThat(get(client, http, "/healthz").statusCode()).isEqualTo(200);

      HttpResponse<String> metrics = get(client, http, "/metrics");
      assertThat(metrics.headers().firstValue("Content-Type")).hasValue(HttpEndpoints.PROMETHEUS_CONTENT_TYPE);
      assertThat(metrics.body())
          .contains("cowherd_reconcile_errors_total{controller=\"aoebootpool\",reason=\"SlotWriteFailed\"} 1.0");
      assertThat(get(client, http, "/metricsx").statusCode()).isEqualTo(404);
    }
  }

  @Test
  void withoutMetricsThereIsNoMetricsEndpoint() throws Exception {
    try (HttpEndpoints http = HttpEndpoints.start(0, health(false), Optional.empty())) {
      assertThat(get(HttpClient.newHttpClient(), http, "/metrics").statusCode()).isEqualTo(404);
    }
  }

  private static HttpResponse<String> get(HttpClient client, HttpEndpoints http, String path) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
