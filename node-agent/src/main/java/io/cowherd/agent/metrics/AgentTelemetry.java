package io.cowherd.agent.metrics;

import io.cowherd.agent.export.ControlFrameWatch;
import io.cowherd.agent.export.IngressGuard;
import io.cowherd.agent.http.AgentHttpServer;
import io.cowherd.agent.inventory.StateDirWatch;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.RegisteredController;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.javaoperatorsdk.operator.processing.Controller;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The agent's metrics registry (java-operator-sdk's reconciliation metrics, JVM metrics and
 * {@link SlotMetrics}) and its HTTP endpoints. Wiring only; kept apart from the slot controller.
 */
public final class AgentTelemetry {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

  /** A registry with the JVM meters bound. */
  public AgentTelemetry() {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
  }

  /** The registry, for meters registered elsewhere (e.g. the unclaimed COW store gauges). */
  public MeterRegistry registry() {
    return registry;
  }

  /** This node's slot objects from {@code slots}' cache; empty until {@code operator} started. */
  public static Stream<AoeBootSlot> cachedSlots(Operator operator, RegisteredController<AoeBootSlot> slots) {
    return operator.getRuntimeInfo().isStarted()
        ? ((Controller<AoeBootSlot>) slots).getEventSourceManager().getControllerEventSource().list()
        : Stream.empty();
  }

  /**
   * Gauges of the state dir's filesystem from {@code watch}'s last reading (NaN before the first):
   * {@code cowherd_state_dir_size_bytes}, {@code cowherd_state_dir_free_bytes} (what a write
   * could still use) and {@code cowherd_state_dir_warning_level} (0, 80 or 95: the highest use
   * threshold reached, percent).
   */
  public void stateDir(StateDirWatch watch) {
    Gauge.builder("cowherd.state.dir.size", watch, w -> w.last().map(r -> (double) r.totalBytes()).orElse(Double.NaN))
        .description("Size of the state dir's filesystem").baseUnit("bytes").register(registry);
    Gauge.builder("cowherd.state.dir.free", watch, w -> w.last().map(r -> (double) r.usableBytes()).orElse(Double.NaN))
        .description("Bytes a write could still use on the state dir's filesystem").baseUnit("bytes").register(registry);
    Gauge.builder("cowherd.state.dir.warning.level", watch,
            w -> w.last().map(r -> (double) r.level().percent()).orElse(Double.NaN))
        .description("Highest use threshold the state dir's filesystem reached: 0, 80 or 95 (percent)")
        .register(registry);
  }

  /** java-operator-sdk's metrics into this registry, for {@code Operator} configuration. */
  public MicrometerMetrics operatorMetrics() {
    return MicrometerMetrics.withoutPerResourceMetrics(registry);
  }

  /**
   * Serves {@code /healthz}, {@code /readyz} and {@code /metrics} on {@code port}.
   *
   * @param operator the agent's operator (started or not)
   * @param slots the registered slot controller, whose cache feeds {@link SlotMetrics}
   * @param guard the ingress guard and {@code watch} the control frame listener, for {@link GuardMetrics}
   * @throws IOException when the port cannot be bound
   */
  public AgentHttpServer serve(int port, Operator operator, RegisteredController<AoeBootSlot> slots, IngressGuard guard,
      ControlFrameWatch watch) throws IOException {
    return AgentHttpServer.start(port, () -> operator.getRuntimeInfo().isStarted(),
        () -> operator.getRuntimeInfo().allEventSourcesAreHealthy(),
        Optional.of(scraper(() -> cachedSlots(operator, slots), guard, watch)));
  }

  /**
   * Registers {@link SlotMetrics} and {@link GuardMetrics} and returns what {@code /metrics}
   * answers: both refreshed, then the whole registry in Prometheus text format 0.0.4. Also used by
   * tests that check dashboard and alert queries against the names really exported.
   *
   * @param slots this node's slot objects as cached now
   */
  public Supplier<String> scraper(Supplier<Stream<AoeBootSlot>> slots, IngressGuard guard, ControlFrameWatch watch) {
    GuardMetrics guardMetrics = new GuardMetrics(registry, guard, watch);
    SlotMetrics slotMetrics = new SlotMetrics(registry, slots);
    return () -> {
      slotMetrics.refresh();
      guardMetrics.refresh();
      return registry.scrape();
    };
  }
}
