package io.cowherd.agent.slot;

import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.inventory.HostInventory;
import io.cowherd.agent.inventory.UnclaimedStores;
import io.cowherd.agent.inventory.UnclaimedStores.UnclaimedStore;
import io.cowherd.api.SlotReclaim;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports COW stores on this node that no slot object claims ({@link UnclaimedStores}); removes
 * nothing. Each {@link #scan()} compares the state dir with this node's slot objects (the slot
 * controller's cache). A store is reported once it was unclaimed in two scans in a row (a slot
 * deleted without a reclaim mark is recreated within seconds and must not be reported):
 *
 * <ul>
 *   <li>gauges {@value #COUNT} (Prometheus {@code cowherd_agent_unclaimed_cow_stores}) and {@value
 *       #BYTES} ({@code cowherd_agent_unclaimed_cow_store_bytes}, apparent sizes);
 *   <li>a Warning Event {@value #REASON} per newly confirmed store, whose involved object is the
 *       store's pool by namespace and name (the agent never reads pools, so without its uid: {@code
 *       kubectl get events -n NS --field-selector reason=UnclaimedCowStore} lists them). When the
 *       namespace is gone the Event write fails; the log line and the gauges remain.
 * </ul>
 */
public final class UnclaimedStateReporter {
  /** Gauge: number of unclaimed COW stores. */
  public static final String COUNT = "cowherd.agent.unclaimed.cow.stores";
  /** Gauge: apparent size of the unclaimed COW stores, in bytes. */
  public static final String BYTES = "cowherd.agent.unclaimed.cow.store.bytes";
  /** Event reason. */
  public static final String REASON = "UnclaimedCowStore";
  private static final Logger LOG = LoggerFactory.getLogger(UnclaimedStateReporter.class);

  private final HostNames names;
  private final HostInventory inventory;
  private final Supplier<Stream<AoeBootSlot>> slots;
  private final Predicate<String> watched;
  private final KubernetesClient client;
  private final String nodeName;
  private final Clock clock;
  private final AtomicLong count = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final Set<java.nio.file.Path> suspected = ConcurrentHashMap.newKeySet();
  private final Set<java.nio.file.Path> reported = ConcurrentHashMap.newKeySet();

  /**
   * @param slots this node's slot objects (the controller's cache)
   * @param watched whether this agent watches a namespace
   * @param registry where the two gauges go
   */
  public UnclaimedStateReporter(HostNames names, HostInventory inventory, Supplier<Stream<AoeBootSlot>> slots,
      Predicate<String> watched, KubernetesClient client, String nodeName, Clock clock, MeterRegistry registry) {
    this.names = names;
    this.inventory = inventory;
    this.slots = slots;
    this.watched = watched;
    this.client = client;
    this.nodeName = nodeName;
    this.clock = clock;
    Gauge.builder(COUNT, count, AtomicLong::get).description("COW stores in the state dir that no slot object claims")
        .register(registry);
    Gauge.builder(BYTES, bytes, AtomicLong::get).baseUnit("bytes")
        .description("apparent size of the COW stores no slot object claims").register(registry);
  }

  /**
   * Scans once: updates the gauges and records an Event per store confirmed unclaimed for the first
   * time. Never throws for a host or API problem (logged); safe to run on a schedule.
   *
   * @return the stores confirmed unclaimed (seen in this scan and the previous one)
   */
  public List<UnclaimedStore> scan() {
    List<java.nio.file.Path> stores = inventory.scan().cowStores(); // before the slots: a new slot's store is claimed
    Set<SlotId> claimed = slots.get().map(SlotReconciler::slotId).flatMap(Optional::stream).collect(Collectors.toSet());
    List<UnclaimedStore> now = UnclaimedStores.find(names, stores, claimed, watched);
    Set<java.nio.file.Path> nowIds = now.stream().map(UnclaimedStore::path).collect(Collectors.toSet());
    List<UnclaimedStore> confirmed = now.stream().filter(s -> suspected.contains(s.path())).toList();
    suspected.retainAll(nowIds);
    suspected.addAll(nowIds);
    reported.retainAll(nowIds);
    count.set(confirmed.size());
    bytes.set(confirmed.stream().mapToLong(UnclaimedStore::sizeBytes).sum());
    for (UnclaimedStore store : confirmed) {
      if (reported.add(store.path())) {
        LOG.warn("COW store {} ({} bytes) is claimed by no slot object on node {}; it is kept: remove it by hand, or"
            + " scale its pool up again to serve it", store.path(), store.sizeBytes(), nodeName);
        event(store);
      }
    }
    return confirmed;
  }

  private void event(UnclaimedStore store) {
    String now = clock.instant().toString();
    SlotId id = store.id();
    try {
      client.v1().events().inNamespace(id.namespace()).resource(new EventBuilder()
          .withNewMetadata().withGenerateName(id.pool() + ".").withNamespace(id.namespace()).endMetadata()
          .withNewInvolvedObject()
          .withApiVersion(HasMetadata.getApiVersion(AoeBootPool.class))
          .withKind(HasMetadata.getKind(AoeBootPool.class))
          .withName(id.pool())
          .withNamespace(id.namespace())
          .endInvolvedObject()
          .withType(SlotEventRecorder.WARNING)
          .withReason(REASON)
          .withMessage(UnclaimedStores.isMovedAside(store.path().getFileName().toString())
              ? "COW store " + store.path() + " of slot " + id.slot() + " (" + store.sizeBytes() + " bytes) on node "
                  + nodeName + " was moved aside because its data was abandoned (" + SlotReclaim.ABANDON_ANNOTATION
                  + "); it is kept and served by no slot: remove it (and its .origin stamp) by hand"
              : "COW store " + store.path() + " of slot " + id.slot() + " (" + store.sizeBytes()
              + " bytes) on node " + nodeName + " is claimed by no slot object; it is kept (reclaim policy Retain, or"
              + " deleted while the node or its agent was away). A scale-up of this pool on that node serves it"
              + " again; otherwise remove it by hand")
          .withNewSource(KubernetesSlotEvents.COMPONENT, nodeName)
          .withReportingComponent("cowherd.io/node-agent")
          .withReportingInstance(nodeName)
          .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
          .build()).create();
    } catch (KubernetesClientException e) {
      LOG.warn("cannot record event {} for {}: {}", REASON, store.path(), e.getMessage());
    }
  }
}
