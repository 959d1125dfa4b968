package io.cowherd.agent.metrics;

import io.cowherd.agent.inventory.SpaceLevel;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Per-slot metrics of this node, taken from the status the agent wrote on its slots (the
 * controller's cache), refreshed right before each scrape. Labels: {@code namespace}, {@code
 * pool}, {@code slot}, {@code target}.
 *
 * <ul>
 *   <li>{@value #COW_USED_SECTORS} — COW sectors in use (dm-snapshot: {@code dmsetup status};
 *       reflink: blocks no longer shared with the origin);
 *   <li>{@value #COW_TOTAL_SECTORS} — COW sectors available;
 *   <li>{@value #COW_WARNING_LEVEL} — 0, 80 or 95: the highest COW use threshold (percent of
 *       the sectors) the slot has reached ({@link SpaceLevel});
 *   <li>{@value #EXPORTER_RESTARTS} — restarts of the slot's exporter (vblade) since it was
 *       adopted or created by this agent;
 *   <li>{@value #ORIGIN_CHANGED} — 1 while the slot's origin is no longer what its COW store was
 *       made from (written in place, truncated or replaced; {@code status.origin.changed}), else 0.
 *   <li>{@value #ORIGIN_STALE} — 1 while the slot serves another origin than its pool's image
 *       ({@code status.origin.stale}: not moved yet by a reset or OnReboot), else 0.
 * </ul>
 */
public final class SlotMetrics {
  /** Gauge, Prometheus {@code cowherd_slot_cow_used_sectors}. */
  public static final String COW_USED_SECTORS = "cowherd.slot.cow.used.sectors";
  /** Gauge, Prometheus {@code cowherd_slot_cow_total_sectors}. */
  public static final String COW_TOTAL_SECTORS = "cowherd.slot.cow.total.sectors";
  /** Gauge, Prometheus {@code cowherd_slot_cow_warning_level}. */
  public static final String COW_WARNING_LEVEL = "cowherd.slot.cow.warning.level";
  /** Counter, Prometheus {@code cowherd_slot_exporter_restarts_total}. */
  public static final String EXPORTER_RESTARTS = "cowherd.slot.exporter.restarts";
  /** Gauge, Prometheus {@code cowherd_slot_origin_changed}. */
  public static final String ORIGIN_CHANGED = "cowherd.slot.origin.changed";
  /** Gauge, Prometheus {@code cowherd_slot_origin_stale}. */
  public static final String ORIGIN_STALE = "cowherd.slot.origin.stale";

  private final MeterRegistry registry;
  private final Supplier<Stream<AoeBootSlot>> slots;
  private final MultiGauge used;
  private final MultiGauge total;
  private final MultiGauge warning;
  private final MultiGauge originChanged;
  private final MultiGauge originStale;
  private final Map<Tags, Integer> restarts = new ConcurrentHashMap<>();
  private final Map<Tags, FunctionCounter> restartCounters = new HashMap<>();

  /**
   * @param registry where the meters go
   * @param slots this node's slots as cached now
   */
  public SlotMetrics(MeterRegistry registry, Supplier<Stream<AoeBootSlot>> slots) {
    this.registry = registry;
    this.slots = slots;
    this.used = MultiGauge.builder(COW_USED_SECTORS).description("COW sectors in use, per slot").baseUnit("sectors")
        .register(registry);
    this.total = MultiGauge.builder(COW_TOTAL_SECTORS).description("COW sectors available, per slot").baseUnit("sectors")
        .register(registry);
    this.warning = MultiGauge.builder(COW_WARNING_LEVEL)
        .description("Highest COW use threshold reached, per slot: 0, 80 or 95 (percent)").register(registry);
    this.originChanged = MultiGauge.builder(ORIGIN_CHANGED)
        .description("1 while the slot's origin changed since its COW store was made, else 0").register(registry);
    this.originStale = MultiGauge.builder(ORIGIN_STALE)
        .description("1 while the slot serves another origin than its pool's image, else 0").register(registry);
  }

  /** Re-reads the slots: new slots get series, deleted ones lose them. */
  public synchronized void refresh() {
    List<MultiGauge.Row<?>> usedRows = new ArrayList<>();
    List<MultiGauge.Row<?>> totalRows = new ArrayList<>();
    List<MultiGauge.Row<?>> warningRows = new ArrayList<>();
    List<MultiGauge.Row<?>> originRows = new ArrayList<>();
    List<MultiGauge.Row<?>> staleRows = new ArrayList<>();
    Map<Tags, Integer> now = new HashMap<>();
    slots.get().filter(s -> s.getSpec() != null && s.getSpec().getSlot() != null).forEach(slot -> {
      Tags tags = tags(slot);
      AoeBootSlotStatus status = slot.getStatus();
      if (status == null) {
        return;
      }
      if (status.getCowUsedSectors() != null) {
        usedRows.add(MultiGauge.Row.of(tags, status.getCowUsedSectors()));
      }
      if (status.getCowTotalSectors() != null) {
        totalRows.add(MultiGauge.Row.of(tags, status.getCowTotalSectors()));
      }
      if (status.getCowUsedSectors() != null && status.getCowTotalSectors() != null) {
        warningRows.add(MultiGauge.Row.of(tags,
            SpaceLevel.of(status.getCowUsedSectors(), status.getCowTotalSectors()).percent()));
      }
      if (status.getOrigin() != null && status.getOrigin().getChanged() != null) {
        originRows.add(MultiGauge.Row.of(tags, status.getOrigin().getChanged() ? 1 : 0));
      }
      if (status.getOrigin() != null && status.getOrigin().getStale() != null) {
        staleRows.add(MultiGauge.Row.of(tags, status.getOrigin().getStale() ? 1 : 0));
      }
      if (status.getRestarts() != null) {
        now.put(tags, status.getRestarts());
      }
    });
    used.register(usedRows, true);
    total.register(totalRows, true);
    warning.register(warningRows, true);
    originChanged.register(originRows, true);
    originStale.register(staleRows, true);
    restarts.putAll(now);
    for (Tags tags : List.copyOf(restartCounters.keySet())) {
      if (!now.containsKey(tags)) {
        registry.remove(restartCounters.remove(tags));
        restarts.remove(tags);
      }
    }
    for (Tags tags : now.keySet()) {
      restartCounters.computeIfAbsent(tags, t -> FunctionCounter
          .builder(EXPORTER_RESTARTS, restarts, m -> m.getOrDefault(t, 0))
          .description("Restarts of the slot's exporter (vblade)")
          .tags(t)
          .register(registry));
    }
  }

  /** The labels of {@code slot}'s series: namespace, pool, slot, target (empty before the agent wrote one). */
  public static Tags tags(AoeBootSlot slot) {
    String target = slot.getStatus() != null && slot.getStatus().getTarget() != null ? slot.getStatus().getTarget() : "";
    return Tags.of(
        "namespace", slot.getMetadata().getNamespace(),
        "pool", String.valueOf(slot.getSpec().getPool()),
        "slot", String.valueOf(slot.getSpec().getSlot()),
        "target", target);
  }
}
