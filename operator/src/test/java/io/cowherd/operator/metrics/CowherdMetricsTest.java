package io.cowherd.operator.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootPoolStatus;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.operator.pool.DesiredSlots;
import io.cowherd.operator.support.Pools;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class CowherdMetricsTest {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final List<AoeBootPool> pools = new ArrayList<>();
  private final List<AoeBootSlot> slots = new ArrayList<>();
  private final AtomicBoolean running = new AtomicBoolean(true);

  @Test
  void gaugesCountPoolsReadyPoolsAndSlotsByPhase() {
    new CowherdMetrics(registry).observe(pools::stream, slots::stream, running::get);
    AoeBootPool ready = pool("a", "True");
    pools.add(ready);
    pools.add(pool("b", "False"));
    slots.add(slot(ready, 0, SlotPhase.Serving));
    slots.add(slot(ready, 1, SlotPhase.Serving));
    slots.add(slot(ready, 2, SlotPhase.Failed));
    slots.add(slot(ready, 3, null));

    String text = registry.scrape();

    assertThat(text).contains("cowherd_pools 2.0", "cowherd_pools_ready 1.0", "cowherd_slots{phase=\"Serving\"} 2.0",
        "cowherd_slots{phase=\"Failed\"} 1.0", "cowherd_slots{phase=\"None\"} 1.0", "cowherd_slots{phase=\"Pending\"} 0.0");
  }

  @Test
  void gaugesAreNaNWhileTheCachesDoNotRun() {
    running.set(false);
    new CowherdMetrics(registry).observe(pools::stream, slots::stream, running::get);

    assertThat(registry.scrape()).contains("cowherd_pools NaN", "cowherd_slots{phase=\"Serving\"} NaN");
  }

  @Test
  void reconcileErrorsCountByControllerAndReason() {
    CowherdMetrics metrics = new CowherdMetrics(registry);
    metrics.reconcileError("aoebootpool", "InvalidSpec");
    metrics.reconcileError("aoebootpool", "InvalidSpec");
    metrics.reconcileError("aoebootpool", "ClusterReadFailed");

    assertThat(registry.scrape()).contains(
        "cowherd_reconcile_errors_total{controller=\"aoebootpool\",reason=\"InvalidSpec\"} 2.0",
        "cowherd_reconcile_errors_total{controller=\"aoebootpool\",reason=\"ClusterReadFailed\"} 1.0");
  }

  private static AoeBootPool pool(String name, String readyStatus) {
    AoeBootPool pool = Pools.aPool().named(name).build();
    AoeBootPoolStatus status = new AoeBootPoolStatus();
    status.setConditions(List.of(new ConditionBuilder().withType("Ready").withStatus(readyStatus).build()));
    pool.setStatus(status);
    return pool;
  }

  private static AoeBootSlot slot(AoeBootPool pool, int n, SlotPhase phase) {
    AoeBootSlot slot = DesiredSlots.build(pool, n, "node-a");
    if (phase != null) {
      AoeBootSlotStatus status = new AoeBootSlotStatus();
      status.setPhase(phase);
      slot.setStatus(status);
    }
    return slot;
  }
}
