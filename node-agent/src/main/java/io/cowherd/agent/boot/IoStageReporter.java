package io.cowherd.agent.boot;

import io.cowherd.agent.export.AtaIoWatch;
import io.cowherd.agent.metrics.SlotIoMetrics;
import io.cowherd.agent.metrics.SlotMetrics;
import io.cowherd.agent.slot.SlotEventRecorder;
import io.cowherd.api.MacAddress;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.micrometer.core.instrument.Tags;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Boot progress from the data path: once per {@link #TICK} (its own thread, never the listener's)
 * points the {@link AtaIoWatch} at the exporters of this node's slots (interface, shelf, slot,
 * {@code spec.allowedMacs}), feeds each tracked client's last read and write times to {@link
 * BootStages}, and for each stage change writes the client's {@code status.boot} (through {@code
 * statusWriter}, queued) and a Normal Event on the slot ({@code ClientReading}, {@code
 * ClientWriting}, {@code ClientSilent}); updates {@link SlotIoMetrics}. Writes happen on stage
 * changes only: none per frame, none while nothing changes.
 */
public final class IoStageReporter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(IoStageReporter.class);
  /** How often stages are judged: a stage change is written within about this time. */
  public static final Duration TICK = Duration.ofSeconds(1);
  /** Default time without a request after which a client is Silent. */
  public static final Duration DEFAULT_SILENT_AFTER = Duration.ofSeconds(30);

  private final AtaIoWatch watch;
  private final Supplier<Stream<AoeBootSlot>> slots;
  private final BootStages stages;
  private final Optional<SlotIoMetrics> metrics;
  private final SlotEventRecorder events;
  private final BiConsumer<MacAddress, BootStages.Change> statusWriter;
  private final Function<MacAddress, Optional<BootStages.Stage>> recorded;
  private final Clock clock;
  private final List<BootStages.Change> changes = new ArrayList<>();
  private volatile java.util.function.Consumer<AoeBootSlot> slotStageChanged = slot -> { };
  /** Uid and resourceVersion of each slot the watch and the metrics were last pointed at, in order; tick thread only. */
  private List<String> lastVersions = List.of();

  /**
   * @param watch the watch to point at this node's exporters
   * @param slots this node's slots as cached now
   * @param silentAfter time without a request after which a client is Silent
   * @param metrics where per-slot series go, if metrics are served
   * @param events Events on slots (queued by the recorder)
   * @param statusWriter records a change in the status of the client known by the MAC (must not block)
   * @param recorded the I/O stage this node recorded for the MAC before (a cache read), to carry it
   *     across an agent restart ({@link BootStages#seed})
   */
  public IoStageReporter(AtaIoWatch watch, Supplier<Stream<AoeBootSlot>> slots, Duration silentAfter,
      Optional<SlotIoMetrics> metrics, SlotEventRecorder events, BiConsumer<MacAddress, BootStages.Change> statusWriter,
      Function<MacAddress, Optional<BootStages.Stage>> recorded, Clock clock) {
    this.watch = watch;
    this.slots = slots;
    this.stages = new BootStages(silentAfter, changes::add);
    this.metrics = metrics;
    this.events = events;
    this.statusWriter = statusWriter;
    this.recorded = recorded;
    this.clock = clock;
  }

  /** Runs {@link #tick} every {@link #TICK} on {@code executor}. */
  public void start(ScheduledExecutorService executor) {
    executor.scheduleWithFixedDelay(() -> {
      try {
        tick();
      } catch (RuntimeException e) {
        LOG.warn("boot stage tick failed: {}", e.toString());
      }
    }, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** A Query Config from {@code mac} was seen (a new boot): the next I/O moves it on from Queried. */
  public void queried(MacAddress mac, java.time.Instant at) {
    stages.queried(io.cowherd.aoe.frame.MacAddress.parse(mac.value()).value(), at);
  }

  /** Also tells {@code listener} of every slot whose client changed stage (after the change is recorded). */
  public void onSlotStageChange(java.util.function.Consumer<AoeBootSlot> listener) {
    this.slotStageChanged = java.util.Objects.requireNonNull(listener);
  }

  /**
   * The stage of {@code slot}'s bound client (one of {@code spec.allowedMacs}) that changed stage
   * last, as seen on the wire; empty for a slot bound to no MAC, or before its client was seen.
   */
  public Optional<String> stageOf(AoeBootSlot slot) {
    if (slot.getSpec() == null || slot.getSpec().getInterface() == null || slot.getSpec().getShelf() == null
        || slot.getSpec().getSlot() == null) {
      return Optional.empty();
    }
    Set<Long> bound = boundMacs(slot);
    return bound.isEmpty() ? Optional.empty()
        : stageOf(slot.getSpec().getInterface(), slot.getSpec().getShelf(), slot.getSpec().getSlot(), bound::contains);
  }

  /** The stages this reporter decides (for tests and the stage gauge). */
  public BootStages stages() {
    return stages;
  }

  /**
   * One round: re-point the watch and the metrics (only when a slot object changed since the last
   * round: at 255 slots doing it every second was most of the idle agent's CPU after the periodic
   * reconciles, issue 11), judge every tracked client, report changes.
   */
  public synchronized void tick() {
    long now = clock.millis();
    List<AoeBootSlot> served = slots.get()
        .filter(s -> s.getSpec() != null && s.getSpec().getInterface() != null && s.getSpec().getShelf() != null
            && s.getSpec().getSlot() != null && s.getMetadata().getDeletionTimestamp() == null)
        .toList();
    List<String> versions = new ArrayList<>(served.size());
    for (AoeBootSlot s : served) {
      versions.add(s.getMetadata().getUid() + "/" + s.getMetadata().getResourceVersion());
    }
    if (!versions.equals(lastVersions)) {
      List<AtaIoWatch.Exported> exported = new ArrayList<>();
      for (AoeBootSlot s : served) {
        exported.add(new AtaIoWatch.Exported(s.getSpec().getInterface(), s.getSpec().getShelf(), s.getSpec().getSlot(),
            boundMacs(s)));
      }
      watch.update(exported);
      Map<Tags, SlotIoMetrics.Source> series = new HashMap<>();
      for (AoeBootSlot s : served) {
        String iface = s.getSpec().getInterface();
        int shelf = s.getSpec().getShelf();
        int slot = s.getSpec().getSlot();
        series.put(SlotMetrics.tags(s), new SlotIoMetrics.Source(() -> watch.slot(iface, shelf, slot),
            () -> stageOf(iface, shelf, slot, mac -> true)));
      }
      metrics.ifPresent(m -> m.update(series));
      lastVersions = versions;
    }
    Set<Long> tracked = new HashSet<>();
    for (AoeBootSlot s : served) {
      Optional<AtaIoWatch.SlotIo> io = watch.slot(s.getSpec().getInterface(), s.getSpec().getShelf(),
          s.getSpec().getSlot());
      for (AtaIoWatch.ClientIo c : io.map(AtaIoWatch.SlotIo::clients).orElse(List.of())) {
        tracked.add(c.mac());
        if (!stages.knows(c.mac())) {
          recorded.apply(macAddress(c.mac())).ifPresent(stage -> stages.seed(c.mac(), stage, now));
        }
        stages.observe(c.mac(), c.lastReadMillis(), c.lastWriteMillis(), now);
        for (BootStages.Change change : changes) {
          report(s, change);
        }
        changes.clear();
      }
    }
    stages.retain(tracked);
  }

  /** The MACs {@code slot} is bound to ({@code spec.allowedMacs}), in order; one that is not a MAC is ignored. */
  private static Set<Long> boundMacs(AoeBootSlot slot) {
    Set<Long> macs = new LinkedHashSet<>();
    for (String m : slot.getSpec().getAllowedMacs() == null ? List.<String>of() : slot.getSpec().getAllowedMacs()) {
      try {
        macs.add(io.cowherd.aoe.frame.MacAddress.parse(m).value());
      } catch (IllegalArgumentException e) {
        LOG.debug("slot {}/{}: ignoring MAC {}: {}", slot.getMetadata().getNamespace(), slot.getMetadata().getName(), m,
            e.getMessage());
      }
    }
    return macs;
  }

  /** The stage of the slot's client (among those {@code counted}) that changed stage last. */
  private Optional<String> stageOf(String iface, int shelf, int slot, java.util.function.LongPredicate counted) {
    return watch.slot(iface, shelf, slot).stream()
        .flatMap(io -> io.clients().stream())
        .filter(c -> counted.test(c.mac()))
        .flatMap(c -> stages.stage(c.mac()).stream())
        .max(Map.Entry.comparingByValue(Comparator.naturalOrder()))
        .map(e -> e.getKey().name());
  }

  private void report(AoeBootSlot slot, BootStages.Change change) {
    MacAddress mac = macAddress(change.mac());
    LOG.info("client {} of slot {}/{}: {} (last read {}, last write {})", mac, slot.getMetadata().getNamespace(),
        slot.getMetadata().getName(), change.stage(), change.lastRead(), change.lastWrite());
    statusWriter.accept(mac, change);
    String what = switch (change.stage()) {
      case Reading -> "reads its disk";
      case Writing -> "writes its disk";
      case Silent -> "sent no request since " + (change.lastRead() == null && change.lastWrite() == null ? "its query"
          : java.util.stream.Stream.of(change.lastRead(), change.lastWrite()).filter(java.util.Objects::nonNull)
              .max(Comparator.naturalOrder()).orElseThrow());
      default -> change.stage().name();
    };
    events.record(slot, SlotEventRecorder.NORMAL, "Client" + change.stage().name(), "client " + mac + " " + what);
    slotStageChanged.accept(slot);
  }

  private static MacAddress macAddress(long mac) {
    return MacAddress.parse(new io.cowherd.aoe.frame.MacAddress(mac).toString()).orElseThrow();
  }

  @Override
  public void close() {
    watch.close();
  }
}
