package io.cowherd.agent.metrics;

import io.cowherd.agent.export.AtaIoWatch;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Per-slot I/O and boot stage metrics from the {@link AtaIoWatch} (labels {@code namespace},
 * {@code pool}, {@code slot}, {@code target}, as {@link SlotMetrics}), and the watch's dropped
 * frames per interface:
 *
 * <ul>
 *   <li>{@value #IO_REQUESTS} ({@code op} = {@code read} | {@code write}) — ATA read/write
 *       requests seen from the segment for the slot's target;
 *   <li>{@value #IO_BYTES} ({@code op}) — bytes those requests asked for (sector count × 512);
 *   <li>{@value #LAST_IO} — Unix time of the last request seen, NaN before any;
 *   <li>{@value #BOOT_STAGE} ({@code stage}) — 1 for the slot client's current stage, 0 for the
 *       others;
 *   <li>{@value #DROPPED_FRAMES} ({@code interface}) — frames the watch socket dropped (kernel
 *       queue full).
 * </ul>
 */
public final class SlotIoMetrics {
  /** Counter, Prometheus {@code cowherd_slot_io_requests_total}. */
  public static final String IO_REQUESTS = "cowherd.slot.io.requests";
  /** Counter, Prometheus {@code cowherd_slot_io_bytes_total}. */
  public static final String IO_BYTES = "cowherd.slot.io.bytes";
  /** Gauge, Prometheus {@code cowherd_slot_last_io_timestamp_seconds}. */
  public static final String LAST_IO = "cowherd.slot.last.io.timestamp.seconds";
  /** Gauge, Prometheus {@code cowherd_slot_boot_stage}. */
  public static final String BOOT_STAGE = "cowherd.slot.boot.stage";
  /** Counter, Prometheus {@code cowherd_agent_io_watch_dropped_frames_total}. */
  public static final String DROPPED_FRAMES = "cowherd.agent.io.watch.dropped.frames";
  /** The values of the {@code stage} label. */
  public static final List<String> STAGES = List.of("ScriptServed", "Queried", "Reading", "Writing", "Silent");

  /**
   * One slot's sources.
   *
   * @param io its counters while watched (empty: all counters read 0)
   * @param stage its client's current stage, if any
   */
  public record Source(Supplier<Optional<AtaIoWatch.SlotIo>> io, Supplier<Optional<String>> stage) {}

  private static final class Holder {
    volatile Source source;
    final List<Meter> meters = new ArrayList<>();

    double read(java.util.function.ToLongFunction<AtaIoWatch.SlotIo> f) {
      return source.io().get().map(f::applyAsLong).orElse(0L);
    }
  }

  private final MeterRegistry registry;
  private final AtaIoWatch watch;
  private final Map<Tags, Holder> slots = new HashMap<>();
  private final Map<String, Meter> dropped = new HashMap<>();

  public SlotIoMetrics(MeterRegistry registry, AtaIoWatch watch) {
    this.registry = registry;
    this.watch = watch;
  }

  /** Serves exactly {@code now}'s slots: new ones get series, gone ones lose them. */
  public synchronized void update(Map<Tags, Source> now) {
    for (Tags tags : List.copyOf(slots.keySet())) {
      if (!now.containsKey(tags)) {
        slots.remove(tags).meters.forEach(registry::remove);
      }
    }
    now.forEach((tags, source) -> {
      Holder h = slots.get(tags);
      if (h != null) {
        h.source = source;
        return;
      }
      Holder n = new Holder();
      n.source = source;
      n.meters.add(FunctionCounter.builder(IO_REQUESTS, n, x -> x.read(AtaIoWatch.SlotIo::readRequests))
          .description("ATA read/write requests seen from the segment for the slot's target")
          .tags(tags).tag("op", "read").register(registry));
      n.meters.add(FunctionCounter.builder(IO_REQUESTS, n, x -> x.read(AtaIoWatch.SlotIo::writeRequests))
          .description("ATA read/write requests seen from the segment for the slot's target")
          .tags(tags).tag("op", "write").register(registry));
      n.meters.add(FunctionCounter.builder(IO_BYTES, n, x -> x.read(AtaIoWatch.SlotIo::readBytes))
          .description("Bytes the slot's ATA read/write requests asked for (sector count x 512)")
          .tags(tags).tag("op", "read").register(registry));
      n.meters.add(FunctionCounter.builder(IO_BYTES, n, x -> x.read(AtaIoWatch.SlotIo::writeBytes))
          .description("Bytes the slot's ATA read/write requests asked for (sector count x 512)")
          .tags(tags).tag("op", "write").register(registry));
      n.meters.add(Gauge.builder(LAST_IO, n, x -> {
        double ms = x.read(AtaIoWatch.SlotIo::lastIoMillis);
        return ms == 0 ? Double.NaN : ms / 1000.0;
      }).description("Unix time of the last ATA request seen for the slot, NaN before any").tags(tags)
          .register(registry));
      for (String stage : STAGES) {
        n.meters.add(Gauge.builder(BOOT_STAGE, n, x -> x.source.stage().get().filter(stage::equals).isPresent() ? 1 : 0)
            .description("1 for the slot client's current boot stage, 0 for the others").tags(tags).tag("stage", stage)
            .register(registry));
      }
      slots.put(tags, n);
    });
    for (String iface : watch.interfacesSeen()) {
      dropped.computeIfAbsent(iface, i -> FunctionCounter.builder(DROPPED_FRAMES, watch, w -> w.droppedFrames(i))
          .description("Frames the ATA request watch socket dropped (kernel queue full)")
          .tag("interface", i).register(registry));
    }
  }
}
