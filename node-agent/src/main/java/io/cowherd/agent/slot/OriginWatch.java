package io.cowherd.agent.slot;

import io.cowherd.agent.backend.OriginIdentity;
import io.cowherd.agent.host.SlotId;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotOrigin;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices an origin file that changed under live slots between two periodic reconciles: every
 * {@link #PERIOD} it stats each distinct origin that a slot of this node reports serving ({@code
 * status.origin.path}, identity {@code status.origin.identity}: see {@link OriginIdentity}) and
 * hands every slot whose origin no longer has that identity (or cannot be stat'ed) to the
 * reconciler, which judges it ({@link SlotPlan}'s {@value SlotPlan#ORIGIN_CHANGED} rule, the one
 * home of what a change means) and reports it. This class decides nothing itself; it only makes
 * the reconcile happen within seconds instead of at the next periodic resync ({@link
 * SlotReconciler#RESYNC_SECONDS}).
 *
 * <p>Cost: one stat(2) per distinct origin per period (a pool's slots share one), no writes.
 * Slots already reported {@code changed} are not handed over again.
 */
public final class OriginWatch {
  /** How often the origins in use are stat'ed. */
  public static final Duration PERIOD = Duration.ofSeconds(10);
  private static final Logger LOG = LoggerFactory.getLogger(OriginWatch.class);

  private final Supplier<Stream<AoeBootSlot>> slots;
  private final Consumer<SlotId> reconcile;

  /**
   * @param slots this node's slot objects as the agent's informer has them now
   * @param reconcile asks for a reconcile of one slot (e.g. {@link ExporterEvents#exporterChanged})
   */
  public OriginWatch(Supplier<Stream<AoeBootSlot>> slots, Consumer<SlotId> reconcile) {
    this.slots = Objects.requireNonNull(slots);
    this.reconcile = Objects.requireNonNull(reconcile);
  }

  /** Runs {@link #look()} every {@link #PERIOD} on {@code scheduler}. */
  public void start(ScheduledExecutorService scheduler) {
    scheduler.scheduleWithFixedDelay(() -> {
      try {
        look();
      } catch (RuntimeException e) {
        LOG.warn("origin watch: {}", e.toString());
      }
    }, PERIOD.toMillis(), PERIOD.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * One look: stats each origin in use once and asks for a reconcile of every slot whose origin
   * differs from what its status says it serves.
   *
   * @return how many slots were handed to the reconciler
   */
  public int look() {
    Map<String, Optional<OriginIdentity>> now = new HashMap<>();
    int handed = 0;
    for (AoeBootSlot slot : (Iterable<AoeBootSlot>) slots.get()::iterator) {
      SlotOrigin origin = slot.getStatus() == null ? null : slot.getStatus().getOrigin();
      if (origin == null || origin.getPath() == null || origin.getIdentity() == null
          || Boolean.TRUE.equals(origin.getChanged())) {
        continue;
      }
      Optional<OriginIdentity> served = OriginIdentity.parse(origin.getIdentity());
      if (served.isEmpty()) {
        continue;
      }
      Optional<OriginIdentity> current = now.computeIfAbsent(origin.getPath(), OriginWatch::stat);
      if (current.isEmpty() || !current.get().equals(served.get())) {
        Optional<SlotId> id = SlotReconciler.slotId(slot);
        if (id.isPresent()) {
          LOG.info("origin {} of slot {}/{} is no longer {}: reconciling it", origin.getPath(),
              slot.getMetadata().getNamespace(), slot.getMetadata().getName(), origin.getIdentity());
          reconcile.accept(id.get());
          handed++;
        }
      }
    }
    return handed;
  }

  private static Optional<OriginIdentity> stat(String path) {
    try {
      return Optional.of(OriginIdentity.of(Path.of(path)));
    } catch (UncheckedIOException e) {
      return Optional.empty();
    }
  }
}
