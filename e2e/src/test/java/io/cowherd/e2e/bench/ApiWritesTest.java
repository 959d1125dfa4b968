package io.cowherd.e2e.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ApiWritesTest {
  /** Lines as kube-apiserver 1.34 prints them (labels sorted, one sample per code and verb). */
  private static final String METRICS = """
      # HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, ...
      # TYPE apiserver_request_total counter
      apiserver_request_total{code="200",component="apiserver",dry_run="",group="cowherd.io",resource="aoebootslots",scope="namespace",subresource="",verb="LIST",version="v1alpha1"} 12
      apiserver_request_total{code="201",component="apiserver",dry_run="",group="cowherd.io",resource="aoebootslots",scope="resource",subresource="",verb="POST",version="v1alpha1"} 64
      apiserver_request_total{code="409",component="apiserver",dry_run="",group="cowherd.io",resource="aoebootslots",scope="resource",subresource="",verb="POST",version="v1alpha1"} 2
      apiserver_request_total{code="200",component="apiserver",dry_run="",group="cowherd.io",resource="aoebootslots",scope="resource",subresource="status",verb="APPLY",version="v1alpha1"} 130
      apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 7
      apiserver_request_total{code="0",component="apiserver",dry_run="",group="",resource="events",scope="namespace",subresource="",verb="WATCH",version="v1"} 3
      apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="events",scope="resource",subresource="",verb="POST",version="v1"} 1.5e+01
      apiserver_request_duration_seconds_count{verb="POST",resource="events"} 99
      """;

  @Test
  void countsOnlyWriteVerbsByResourceAndSubresource() {
    assertThat(ApiWrites.parse(METRICS)).containsExactlyInAnyOrderEntriesOf(Map.of(
        "aoebootslots", 66L, "aoebootslots/status", 130L, "leases", 7L, "events", 15L));
  }

  @Test
  void deltaLeavesOutUnchangedResources() {
    assertThat(ApiWrites.delta(Map.of("events", 15L, "leases", 7L), Map.of("events", 15L, "leases", 9L, "aoebootpools/status", 1L)))
        .containsExactlyInAnyOrderEntriesOf(Map.of("leases", 2L, "aoebootpools/status", 1L));
  }
}
