package io.cowherd.operator.metrics;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.fabric8.kubernetes.api.model.Condition;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * cowherd's own operator metrics, next to java-operator-sdk's ({@code operator_sdk_*}). Gauges are
 * read from the informer caches at scrape time (nothing is kept here); they are NaN while the
 * caches are not running (a standby replica, or before start).
 *
 * <ul>
 *   <li>{@value #POOLS} — pools in the cluster (all namespaces, as cached);
 *   <li>{@value #POOLS_READY} — pools whose condition Ready is True;
 *   <li>{@value #SLOTS}{@code {phase}} — slot objects by {@code status.phase}, {@code None} before
 *       the node agent wrote one;
 *   <li>{@value #RECONCILE_ERRORS}{@code {controller, reason}} — failed reconciliations by the
 *       condition reason they were reported with.
 * </ul>
 */
public final class CowherdMetrics {
  /** Gauge: pools (Prometheus {@code cowherd_pools}). */
  public static final String POOLS = "cowherd.pools";
  /** Gauge: pools with Ready=True (Prometheus {@code cowherd_pools_ready}). */
  public static final String POOLS_READY = "cowherd.pools.ready";
  /** Gauge: slots by phase (Prometheus {@code cowherd_slots}). */
  public static final String SLOTS = "cowherd.slots";
  /** Counter: failed reconciliations (Prometheus {@code cowherd_reconcile_errors_total}). */
  public static final String RECONCILE_ERRORS = "cowherd.reconcile.errors";
  /** {@code phase} label value of a slot without status phase. */
  public static final String NO_PHASE = "None";

  private final MeterRegistry registry;

  /** @param registry where the meters go */
  public CowherdMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /** Metrics that go nowhere, for tests and tools that do not serve them. */
  public static CowherdMetrics discarding() {
    return new CowherdMetrics(new SimpleMeterRegistry());
  }

  /** Counts one failed reconciliation of {@code controller} reported with condition reason {@code reason}. */
  public void reconcileError(String controller, String reason) {
    Counter.builder(RECONCILE_ERRORS)
        .description("Failed reconciliations by controller and condition reason")
        .tag("controller", controller)
        .tag("reason", reason)
        .register(registry)
        .increment();
  }

  /**
   * Registers the pool and slot gauges over the given caches.
   *
   * @param pools every cached pool
   * @param slots every cached slot
   * @param running whether the caches are running (else the gauges read NaN)
   */
  public void observe(Supplier<Stream<AoeBootPool>> pools, Supplier<Stream<AoeBootSlot>> slots, BooleanSupplier running) {
    Gauge.builder(POOLS, () -> running.getAsBoolean() ? pools.get().count() : Double.NaN)
        .description("AoeBootPools in the cluster")
        .register(registry);
    Gauge.builder(POOLS_READY, () -> running.getAsBoolean() ? pools.get().filter(CowherdMetrics::isReady).count() : Double.NaN)
        .description("AoeBootPools whose condition Ready is True")
        .register(registry);
    for (String phase : phases()) {
      Gauge.builder(SLOTS, () -> running.getAsBoolean() ? slots.get().filter(s -> phase.equals(phaseOf(s))).count() : Double.NaN)
          .description("AoeBootSlots by status.phase (None: not yet reported by the node agent)")
          .tag("phase", phase)
          .register(registry);
    }
  }

  /** Every value of the {@code phase} label. */
  public static List<String> phases() {
    return Stream.concat(Stream.of(SlotPhase.values()).map(Enum::name), Stream.of(NO_PHASE)).toList();
  }

  static String phaseOf(AoeBootSlot slot) {
    return slot.getStatus() == null || slot.getStatus().getPhase() == null ? NO_PHASE : slot.getStatus().getPhase().name();
  }

  private static boolean isReady(AoeBootPool pool) {
    if (pool.getStatus() == null || pool.getStatus().getConditions() == null) {
      return false;
    }
    for (Condition c : pool.getStatus().getConditions()) {
      if ("Ready".equals(c.getType()) && Objects.equals("True", c.getStatus())) {
        return true;
      }
    }
    return false;
  }
}
