package io.cowherd.agent.boot;

import io.cowherd.api.LeanItemStore;
import io.cowherd.api.MacAddress;
import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootClientSpec;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.ClientsSpec;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link BootDirectory} over fabric8 informers of AoeBootClients (indexed by normalised MAC),
 * AoeBootPools and AoeBootSlots (for {@link StaleSlotGate}: a slot moving to its pool's image holds
 * its client's script) in the namespaces the agent serves. Answers from the caches (a client's slot only
 * while its pool exists and is not being deleted: the operator does not clear assignments of a
 * deleted pool); the only write is the
 * enrollment of an unknown MAC into the one pool that enrols automatically and admits it: a create
 * of {@code mac-<12 hex>} ({@link Names#clientName}) labelled {@link Names#ENROLLED_BY_LABEL}. A
 * second create of the same MAC, by this agent or another, fails with 409 and changes nothing; the
 * operator assigns the slot. Enrollments are limited per pool to its {@code enrollmentsPerMinute}
 * on this agent (the operator limits assignments pool-wide).
 */
public final class KubernetesBootDirectory implements BootDirectory, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KubernetesBootDirectory.class);
  private static final String MAC_INDEX = "mac";
  private static final Pattern LABEL_VALUE = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");

  private final KubernetesClient client;
  private final SharedIndexInformer<AoeBootClient> clients;
  private final SharedIndexInformer<AoeBootPool> pools;
  private final SharedIndexInformer<AoeBootSlot> slots;
  private final Predicate<String> servedNamespace;
  private final String enrolledBy;
  private final Clock clock;
  private final Map<String, RateLimiter> enrollmentRates = new ConcurrentHashMap<>();

  private KubernetesBootDirectory(KubernetesClient client, SharedIndexInformer<AoeBootClient> clients,
      SharedIndexInformer<AoeBootPool> pools, SharedIndexInformer<AoeBootSlot> slots, Predicate<String> servedNamespace,
      String nodeName, Clock clock) {
    this.client = client;
    this.clients = clients;
    this.pools = pools;
    this.slots = slots;
    this.servedNamespace = servedNamespace;
    this.enrolledBy = LABEL_VALUE.matcher(nodeName).matches() ? nodeName : "node-agent";
    this.clock = clock;
  }

  /**
   * Starts informers on clients and pools in every namespace (filtered by {@code servedNamespace})
   * and waits until they have synced.
   *
   * @param nodeName this agent's node, the value of the enrolled-by label
   */
  public static KubernetesBootDirectory start(KubernetesClient client, Predicate<String> servedNamespace,
      String nodeName, Clock clock) {
    SharedIndexInformer<AoeBootClient> clients = client.resources(AoeBootClient.class).inAnyNamespace().runnableInformer(0)
        .itemStore(LeanItemStore.create());
    clients.addIndexers(Map.of(MAC_INDEX, c -> c.getSpec() == null ? List.of()
        : MacAddress.parse(c.getSpec().getMac()).map(m -> List.of(m.value())).orElse(List.of())));
    SharedIndexInformer<AoeBootPool> pools = client.resources(AoeBootPool.class).inAnyNamespace().runnableInformer(0)
        .itemStore(LeanItemStore.create());
    SharedIndexInformer<AoeBootSlot> slots = client.resources(AoeBootSlot.class).inAnyNamespace().runnableInformer(0)
        .itemStore(LeanItemStore.create());
    clients.run();
    pools.run();
    slots.run();
    return new KubernetesBootDirectory(client, clients, pools, slots, servedNamespace, nodeName, clock);
  }

  @Override
  public Answer answer(MacAddress mac, Optional<String> poolHint) {
    List<AoeBootClient> known = clients.getIndexer().byIndex(MAC_INDEX, mac.value()).stream()
        .filter(c -> servedNamespace.test(c.getMetadata().getNamespace()))
        .sorted(Comparator.comparing((AoeBootClient c) -> String.valueOf(c.getMetadata().getCreationTimestamp()))
            .thenComparing(c -> c.getMetadata().getName()))
        .toList();
    for (AoeBootClient c : known) {
      AoeBootPool pool = pools.getStore().getByKey(c.getMetadata().getNamespace() + "/" + c.getSpec().getPool());
      boolean poolServes = pool != null && pool.getMetadata().getDeletionTimestamp() == null;
      if (poolServes && c.getStatus() != null && c.getStatus().getSlot() != null && c.getStatus().getTarget() != null
          && mac.value().equals(c.getStatus().getMac())) {
        AoeBootClientSpec spec = c.getSpec();
        Optional<AoeBootSlot> slot = Optional.ofNullable(slots.getStore().getByKey(
            c.getMetadata().getNamespace() + "/" + Names.slotName(pool.getMetadata().getName(), c.getStatus().getSlot())));
        Optional<StaleSlotGate.Verdict> held = StaleSlotGate.check(pool, slot, c, clock.instant());
        if (held.isPresent()) {
          return new Hold(c.getMetadata().getNamespace(), c.getMetadata().getName(), held.get().message(),
              StaleSlotGate.RETRY_SECONDS, held.get().requestUpdate());
        }
        return new Boot(c.getMetadata().getNamespace(), c.getMetadata().getName(), c.getStatus().getTarget(),
            spec.getHostname(), spec.getKernelArgs());
      }
    }
    if (!known.isEmpty()) {
      AoeBootClient c = known.getFirst();
      String pool = c.getMetadata().getNamespace() + "/" + c.getSpec().getPool();
      AoeBootPool named = pools.getStore().getByKey(pool);
      if (named == null || named.getMetadata().getDeletionTimestamp() != null) {
        return new Wait("client " + c.getMetadata().getNamespace() + "/" + c.getMetadata().getName() + " names pool "
            + pool + ", which does not exist (or is being deleted)", 30);
      }
      String why = c.getStatus() == null ? "waiting for the operator to assign a slot"
          : c.getStatus().getConditions().stream().filter(x -> "Assigned".equals(x.getType())).findFirst()
              .map(Condition::getMessage).orElse("waiting for the operator to assign a slot");
      return new Wait("client " + c.getMetadata().getNamespace() + "/" + c.getMetadata().getName() + " has no slot: "
          + why, 10);
    }
    return enrol(mac, poolHint);
  }

  /**
   * The client known by {@code mac} in the served namespaces (the oldest), as {@code {namespace,
   * name}}, for recording stages seen on the wire.
   */
  public Optional<List<String>> clientOf(MacAddress mac) {
    return clients.getIndexer().byIndex(MAC_INDEX, mac.value()).stream()
        .filter(c -> servedNamespace.test(c.getMetadata().getNamespace()))
        .min(Comparator.comparing((AoeBootClient c) -> String.valueOf(c.getMetadata().getCreationTimestamp()))
            .thenComparing(c -> c.getMetadata().getName()))
        .map(c -> List.of(c.getMetadata().getNamespace(), c.getMetadata().getName()));
  }

  /**
   * The recorded {@code status.boot} of the client known by {@code mac} (the oldest in the served
   * namespaces), for carrying a stage across an agent restart.
   */
  public Optional<io.cowherd.api.v1alpha1.BootProgress> bootOf(MacAddress mac) {
    return clientOf(mac).map(c -> clients.getStore().getByKey(c.get(0) + "/" + c.get(1)))
        .map(AoeBootClient::getStatus).map(io.cowherd.api.v1alpha1.AoeBootClientStatus::getBoot);
  }

  /** The interfaces of the pools in the served namespaces (where their clients send AoE queries). */
  public java.util.Set<String> poolInterfaces() {
    return pools.getStore().list().stream()
        .filter(p -> servedNamespace.test(p.getMetadata().getNamespace()) && p.getSpec() != null
            && p.getSpec().getInterface() != null)
        .map(p -> p.getSpec().getInterface())
        .collect(java.util.stream.Collectors.toSet());
  }

  private Answer enrol(MacAddress mac, Optional<String> poolHint) {
    List<AoeBootPool> candidates = pools.getStore().list().stream()
        .filter(p -> servedNamespace.test(p.getMetadata().getNamespace()) && p.getSpec() != null
            && p.getMetadata().getDeletionTimestamp() == null && p.getSpec().clientsOrDefault().automatic())
        .filter(p -> poolHint.isEmpty() || poolHint.get().equals(p.getMetadata().getNamespace() + "/" + p.getMetadata().getName()))
        .toList();
    if (candidates.isEmpty()) {
      return new Wait("unknown MAC and no pool enrols it automatically; create an AoeBootClient for it", 30);
    }
    if (candidates.size() > 1) {
      return new Wait("unknown MAC and " + candidates.size() + " pools enrol automatically; add pool=<namespace>/<name>"
          + " to the boot URL", 30);
    }
    AoeBootPool pool = candidates.getFirst();
    ClientsSpec settings = pool.getSpec().clientsOrDefault();
    String poolName = pool.getMetadata().getNamespace() + "/" + pool.getMetadata().getName();
    if (!settings.admits(mac)) {
      return new Wait("pool " + poolName + " enrols only MACs starting with " + settings.getMacPrefixes(), 30);
    }
    int perMinute = settings.enrollmentsPerMinuteOrDefault();
    RateLimiter rate = enrollmentRates.compute(poolName + "@" + perMinute,
        (k, v) -> v != null ? v : new RateLimiter(perMinute / 60.0, perMinute, 1, clock));
    if (!rate.tryAcquire("enrol")) {
      return new Wait("pool " + poolName + " enrols at most " + perMinute + " MACs per minute; waiting", 10);
    }
    AoeBootClient enrolled = new AoeBootClient();
    enrolled.setMetadata(new ObjectMetaBuilder()
        .withNamespace(pool.getMetadata().getNamespace())
        .withName(Names.clientName(mac))
        .withLabels(Map.of(Names.ENROLLED_BY_LABEL, enrolledBy, Names.MANAGED_BY_LABEL, Names.MANAGED_BY))
        .build());
    AoeBootClientSpec spec = new AoeBootClientSpec();
    spec.setMac(mac.value());
    spec.setPool(pool.getMetadata().getName());
    enrolled.setSpec(spec);
    try {
      client.resource(enrolled).create();
      LOG.info("enrolled MAC {} into pool {} as client {}", mac, poolName, Names.clientName(mac));
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409) {
        LOG.warn("could not enrol MAC {} into pool {}: {}", mac, poolName, e.getMessage());
        return new Wait("could not enrol into pool " + poolName + " (HTTP " + e.getCode() + "); trying again", 10);
      }
    }
    return new Wait("enrolled into pool " + poolName + ", waiting for a slot", 2);
  }

  @Override
  public void close() {
    clients.close();
    pools.close();
    slots.close();
  }
}
