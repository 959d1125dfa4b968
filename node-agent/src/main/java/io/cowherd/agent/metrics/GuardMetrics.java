package io.cowherd.agent.metrics;

import io.cowherd.agent.export.ControlFrameWatch;
import io.cowherd.agent.export.GuardState;
import io.cowherd.agent.export.IngressGuard;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The data path guard's meters, per exporter interface, refreshed right before each scrape:
 *
 * <ul>
 *   <li>{@value #DROPPED} ({@code interface}, {@code command}: {@code mask-list}, {@code
 *       reserve-release}, {@code config-set}) — AoE control requests the {@link IngressGuard}
 *       dropped;
 *   <li>{@value #ACTIVE} ({@code interface}) — 1 while the guard's nftables table is installed and
 *       verified, 0 while it is off;
 *   <li>{@value #RESTORES} ({@code interface}) — exporters restarted because a state-changing
 *       control request reached them ({@link ControlFrameWatch}: only while the guard is off).
 * </ul>
 */
public final class GuardMetrics {
  /** Counter, Prometheus {@code cowherd_guard_dropped_frames_total}. */
  public static final String DROPPED = "cowherd.guard.dropped.frames";
  /** Gauge, Prometheus {@code cowherd_guard_active}. */
  public static final String ACTIVE = "cowherd.guard.active";
  /** Counter, Prometheus {@code cowherd_guard_exporter_restores_total}. */
  public static final String RESTORES = "cowherd.guard.exporter.restores";

  private final MeterRegistry registry;
  private final IngressGuard guard;
  private final ControlFrameWatch watch;
  private final MultiGauge active;
  private final Map<Tags, Long> dropped = new ConcurrentHashMap<>();
  private final Map<Tags, FunctionCounter> droppedCounters = new HashMap<>();
  private final Map<Tags, FunctionCounter> restoreCounters = new HashMap<>();

  public GuardMetrics(MeterRegistry registry, IngressGuard guard, ControlFrameWatch watch) {
    this.registry = registry;
    this.guard = guard;
    this.watch = watch;
    this.active = MultiGauge.builder(ACTIVE).description("1 while the ingress guard of the interface is on")
        .register(registry);
  }

  /** Re-reads the guard: new interfaces get series (counters keep their series once seen). */
  public synchronized void refresh() {
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    for (GuardState s : guard.states()) {
      rows.add(MultiGauge.Row.of(Tags.of("interface", s.iface()), s.active() ? 1 : 0));
      s.droppedFrames().forEach((command, n) -> {
        Tags t = Tags.of("interface", s.iface(), "command", command);
        dropped.merge(t, n, Math::max);
        droppedCounters.computeIfAbsent(t, k -> FunctionCounter.builder(DROPPED, dropped, m -> m.getOrDefault(k, 0L))
            .description("AoE control requests dropped by the ingress guard").tags(k).register(registry));
      });
    }
    active.register(rows, true);
    for (String iface : watch.interfacesSeen()) {
      Tags t = Tags.of("interface", iface);
      restoreCounters.computeIfAbsent(t, k -> FunctionCounter.builder(RESTORES, watch, w -> w.restores(iface))
          .description("Exporters restarted because a control request from the wire reached them").tags(k)
          .register(registry));
    }
  }
}
