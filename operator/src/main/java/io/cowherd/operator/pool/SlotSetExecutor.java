package io.cowherd.operator.pool;

import io.cowherd.api.Names;
import io.cowherd.api.SlotConditions;
import io.cowherd.api.SlotReclaim;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.ReclaimPolicy;
import io.cowherd.operator.error.ClusterReadException;
import io.cowherd.operator.error.SlotWriteException;
import io.cowherd.operator.node.NodeGoneSlotReleaser;
import io.cowherd.operator.node.NodeLivenessWriter;
import io.fabric8.kubernetes.api.model.DeleteOptions;
import io.fabric8.kubernetes.api.model.DeleteOptionsBuilder;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out a {@link SlotSetPlan}: the only place the operator writes slot objects. Order:
 * releases, lost/found conditions, stale marks removed, deletes (highest slot first, each marked
 * with the reclaim policy before it is deleted), updates, creates. Every step is idempotent:
 * NotFound on delete and AlreadyExists on create count as done.
 *
 * <p>Creates and updates are serialized within this operator and preceded by a direct (uncached)
 * list of all slots: a target that another pool's slot holds by then is skipped, so two pools
 * reconciled at the same moment cannot both export one target.
 *
 * <p>Within one batch (the deletes, the updates, the creates of one plan) the slots are written in
 * parallel, at most {@link #PARALLEL_WRITES} requests at once, on virtual threads: each slot's own
 * writes stay in order (mark, then delete), batches stay in order (deletes before updates before
 * creates), and the write lock is held until every create of the batch has returned. Slot names are
 * fixed ({@code <pool>-<n>}), so a create can never make a second object for one slot number
 * (AlreadyExists counts as done). After the first failed write no further write of the batch starts;
 * those already started finish, are reported, and the failure is rethrown.
 *
 * <p>Each batch of deletes and of creates is reported by one Event, written in the background
 * ({@link PoolEventRecorder}): a reconciliation never waits for an Event POST.
 */
public final class SlotSetExecutor {
  /** Field manager of every slot write (server-side apply). */
  public static final String FIELD_MANAGER = "cowherd-operator";
  /**
   * Most slot writes of one batch in flight at once: enough to hide the API server's round trip
   * (scale 0→64 went from 1.5–1.8 s serial to about 0.3 s), few enough not to crowd out other
   * clients (kube-apiserver admits 200 mutating requests in flight by default).
   */
  public static final int PARALLEL_WRITES = 16;
  private static final Logger log = LoggerFactory.getLogger(SlotSetExecutor.class);

  private final KubernetesClient client;
  private final NodeGoneSlotReleaser releaser;
  private final NodeLivenessWriter liveness;
  private final PoolEventRecorder events;
  private final ReentrantLock writeLock = new ReentrantLock();
  /** Slot writes of a batch run on virtual threads: no platform thread per slot. */
  private static final ThreadFactory WRITER_THREADS = Thread.ofVirtual().name("slot-write-", 0).factory();

  /**
   * @param client client for slot writes
   * @param releaser releases slots whose Node is gone and whose data the user gave up
   * @param liveness writes the NodeAvailable condition of slots whose Node is gone or back
   * @param events records an Event per batch of slots created or deleted, and per slot released, lost or found
   */
  public SlotSetExecutor(KubernetesClient client, NodeGoneSlotReleaser releaser, NodeLivenessWriter liveness,
      PoolEventRecorder events) {
    this.client = client;
    this.releaser = releaser;
    this.liveness = liveness;
    this.events = events;
  }

  /**
   * Applies {@code plan} for {@code pool}.
   *
   * @throws SlotWriteException when a write fails (earlier steps stay done; JOSDK retries)
   * @throws ClusterReadException when the Node or slot re-check read fails
   */
  public SlotSetOutcome apply(AoeBootPool pool, SlotSetPlan plan) {
    int released = 0;
    for (AoeBootSlot slot : plan.releases()) {
      if (releaser.releaseIfNodeGone(slot)) {
        released++;
        events.warning(pool, "SlotReleased", "Node " + slot.getSpec().getNodeName() + " is gone: released slot "
            + slot.getMetadata().getName() + " (" + target(slot) + ") as asked; its COW store on that node is given up"
            + (pool.getMetadata().getDeletionTimestamp() == null ? " and the slot is recreated on an eligible node with an empty COW store" : ""));
      }
    }
    for (AoeBootSlot slot : plan.lost()) {
      if (liveness.reportLost(slot)) {
        String message = "Node " + slot.getSpec().getNodeName() + " of slot " + slot.getMetadata().getName() + " ("
            + target(slot) + ") is gone: the slot keeps its target and its COW data on that node and serves again"
            + " when the Node is back; to give the data up: kubectl annotate aoebootslot " + slot.getMetadata().getName()
            + " " + SlotReclaim.ABANDON_ANNOTATION + "=" + SlotReclaim.ABANDON_VALUE;
        events.warning(pool, SlotConditions.NODE_LOST, message);
        events.warning(slot, SlotConditions.NODE_LOST, message);
      }
    }
    for (AoeBootSlot slot : plan.found()) {
      if (liveness.reportFound(slot)) {
        events.normal(pool, SlotConditions.NODE_FOUND, "Node " + slot.getSpec().getNodeName() + " of slot "
            + slot.getMetadata().getName() + " (" + target(slot) + ") exists again");
      }
    }
    for (AoeBootSlot slot : plan.unmarks()) {
      unmark(slot);
    }
    int deleted = eachWritten(plan.deletes(), slot -> {
      mark(slot, plan.policy());
      if (slot.getMetadata().getDeletionTimestamp() != null) {
        return false;
      }
      return delete(slot);
    }, done -> events.normal(pool, "SlotDeleted", "Deleted " + describe(done) + " with reclaim policy " + plan.policy()));
    if (plan.creates().isEmpty() && plan.updates().isEmpty()) {
      return new SlotSetOutcome(0, 0, deleted, released, List.of());
    }
    return writeGuarded(pool, plan, deleted, released);
  }

  /**
   * Counts the pool's slot objects by a direct list at the API server (not the cache), used before
   * the pool's finalizer is removed.
   *
   * @throws ClusterReadException when the list fails
   */
  public int liveSlotCount(AoeBootPool pool) {
    try {
      return (int) client.resources(AoeBootSlot.class).inNamespace(pool.getMetadata().getNamespace()).list().getItems()
          .stream()
          .filter(s -> s.getSpec() != null && pool.getMetadata().getName().equals(s.getSpec().getPool()))
          .count();
    } catch (KubernetesClientException e) {
      throw new ClusterReadException("slots of pool " + pool.getMetadata().getName(), e);
    }
  }

  /**
   * Updates, then creates, under the write lock and after one direct list of all slots: a slot
   * whose target another pool's slot holds by now is skipped (covers creates and re-targeting
   * updates after a shelf change).
   */
  private SlotSetOutcome writeGuarded(AoeBootPool pool, SlotSetPlan plan, int deleted, int released) {
    List<String> skipped = new ArrayList<>();
    writeLock.lock();
    try {
      List<AoeBootSlot> live = listAllSlots();
      List<AoeBootSlot> changed = plan.updates().stream().filter(desired -> guard(desired, live, skipped)).toList();
      int updated = eachWritten(changed, desired -> {
        update(desired);
        return true;
      }, done -> { });
      List<AoeBootSlot> wanted = plan.creates().stream().filter(desired -> guard(desired, live, skipped)).toList();
      int created = eachWritten(wanted, this::create, done -> events.normal(pool, "SlotCreated", "Created " + describe(done)));
      return new SlotSetOutcome(created, updated, deleted, released, skipped);
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Runs {@code write} for every slot, at most {@link #PARALLEL_WRITES} at once (started in list
   * order), waits for all of them, then hands the slots it wrote (those for which it returned true),
   * in list order, to {@code report}, also when a write threw: then no further write starts, and
   * the first failure is rethrown once the started ones have finished (later ones are suppressed).
   *
   * @return how many slots were written
   */
  private static int eachWritten(List<AoeBootSlot> slots, Predicate<AoeBootSlot> write,
      Consumer<List<AoeBootSlot>> report) {
    AtomicIntegerArray written = new AtomicIntegerArray(slots.size()); // 1: written
    AtomicReference<RuntimeException> failure = new AtomicReference<>();
    if (slots.size() == 1) {
      runOne(slots, 0, write, written, failure); // no thread for the common single write
    } else if (!slots.isEmpty()) {
      Semaphore inFlight = new Semaphore(PARALLEL_WRITES);
      try (ExecutorService writers = Executors.newThreadPerTaskExecutor(WRITER_THREADS)) {
        for (int i = 0; i < slots.size() && failure.get() == null; i++) {
          inFlight.acquireUninterruptibly();
          int index = i;
          writers.execute(() -> {
            try {
              runOne(slots, index, write, written, failure);
            } finally {
              inFlight.release();
            }
          });
        }
      } // close() waits for every started write
    }
    List<AoeBootSlot> done = new ArrayList<>();
    for (int i = 0; i < written.length(); i++) {
      if (written.get(i) == 1) {
        done.add(slots.get(i));
      }
    }
    if (!done.isEmpty()) {
      report.accept(done);
    }
    if (failure.get() != null) {
      throw failure.get();
    }
    return done.size();
  }

  private static void runOne(List<AoeBootSlot> slots, int index, Predicate<AoeBootSlot> write, AtomicIntegerArray written,
      AtomicReference<RuntimeException> failure) {
    if (failure.get() != null) {
      return;
    }
    try {
      written.set(index, write.test(slots.get(index)) ? 1 : 0);
    } catch (RuntimeException e) {
      if (!failure.compareAndSet(null, e)) {
        failure.get().addSuppressed(e);
      }
    }
  }

  /** "slot NAME (TARGET) on node NODE", or "N slots on node(s) …: NAME (TARGET), …" for several. */
  private static String describe(List<AoeBootSlot> slots) {
    if (slots.size() == 1) {
      AoeBootSlot slot = slots.getFirst();
      return "slot " + slot.getMetadata().getName() + " (" + target(slot) + ") on node " + slot.getSpec().getNodeName();
    }
    String nodes = String.join(", ", slots.stream().map(s -> s.getSpec().getNodeName()).distinct().sorted().toList());
    return slots.size() + " slots on node(s) " + nodes + ": " + String.join(", ",
        slots.stream().map(s -> s.getMetadata().getName() + " (" + target(s) + ")").toList());
  }

  /** @return true when no other pool's slot holds the target of {@code desired}; else records it as skipped */
  private static boolean guard(AoeBootSlot desired, List<AoeBootSlot> live, List<String> skipped) {
    if (!heldByOtherPool(desired, live)) {
      return true;
    }
    log.warn("Not writing slot {}/{}: target {} is held by another pool's slot",
        desired.getMetadata().getNamespace(), desired.getMetadata().getName(), target(desired));
    skipped.add(desired.getMetadata().getName());
    return false;
  }

  private List<AoeBootSlot> listAllSlots() {
    try {
      return client.resources(AoeBootSlot.class).inAnyNamespace().list().getItems();
    } catch (KubernetesClientException e) {
      throw new ClusterReadException("all slots", e);
    }
  }

  private static boolean heldByOtherPool(AoeBootSlot desired, List<AoeBootSlot> live) {
    return live.stream().anyMatch(s -> s.getSpec() != null
        && desired.getSpec().getShelf().equals(s.getSpec().getShelf())
        && desired.getSpec().getSlot().equals(s.getSpec().getSlot())
        && !(desired.getMetadata().getNamespace().equals(s.getMetadata().getNamespace())
            && desired.getSpec().getPool().equals(s.getSpec().getPool())));
  }

  /** @return true when created, false when it already existed */
  private boolean create(AoeBootSlot desired) {
    try {
      client.resource(desired).create();
      log.info("Created slot {}/{} ({}) on node {}", desired.getMetadata().getNamespace(),
          desired.getMetadata().getName(), target(desired), desired.getSpec().getNodeName());
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        log.debug("Slot {} already exists", desired.getMetadata().getName());
        return false;
      }
      throw new SlotWriteException(desired.getMetadata().getNamespace(), desired.getMetadata().getName(), "create", e);
    }
  }

  private void update(AoeBootSlot desired) {
    try {
      client.resource(desired).fieldManager(FIELD_MANAGER).forceConflicts().serverSideApply();
      log.info("Updated slot {}/{} ({})", desired.getMetadata().getNamespace(), desired.getMetadata().getName(), target(desired));
    } catch (KubernetesClientException e) {
      throw new SlotWriteException(desired.getMetadata().getNamespace(), desired.getMetadata().getName(), "update", e);
    }
  }

  /**
   * Sets the reclaim mark (the node agent's signal that it may act on the data, {@link SlotReclaim})
   * to {@code policy}. A JSON merge patch that also carries the observed UID: UIDs are immutable, so
   * the server refuses it (422) for a replaced object instead of marking that one.
   */
  private void mark(AoeBootSlot slot, ReclaimPolicy policy) {
    if (SlotReclaim.markOf(slot).filter(policy::equals).isPresent()) {
      return;
    }
    annotate(slot, policy.name(), "mark for reclaim policy " + policy);
  }

  /** Removes a reclaim mark left on a slot that is wanted again (an interrupted deletion). */
  private void unmark(AoeBootSlot slot) {
    annotate(slot, null, "remove the reclaim mark of");
    log.info("Removed stale reclaim mark from slot {}/{}", slot.getMetadata().getNamespace(), slot.getMetadata().getName());
  }

  /** Sets (or with null removes) the reclaim annotation of {@code slot}, pinned to its UID. */
  private void annotate(AoeBootSlot slot, String value, String what) {
    String namespace = slot.getMetadata().getNamespace();
    String name = slot.getMetadata().getName();
    Map<String, Object> annotations = new HashMap<>();
    annotations.put(SlotReclaim.ANNOTATION, value);
    String patch = client.getKubernetesSerialization().asJson(
        Map.of("metadata", Map.of("uid", slot.getMetadata().getUid(), "annotations", annotations)));
    try {
      client.resources(AoeBootSlot.class).inNamespace(namespace).withName(name)
          .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
    } catch (KubernetesClientException e) {
      if (e.getCode() != 404) {
        throw new SlotWriteException(namespace, name, what, e);
      }
    }
  }

  /**
   * Deletes the slot object the plan decided on, and no other: the request carries its UID as a
   * precondition ({@code DeleteOptions.preconditions.uid}), so a slot of the same name created since
   * (deleted by hand and recreated) is refused by the API server (409) instead of deleted by a stale
   * decision; the informer then brings the new object to the next reconcile. fabric8's delete DSL
   * sets only a resourceVersion precondition (which every status write of the agent would break), so
   * the request is the client's raw one, to the object's URL.
   *
   * @return whether the object was deleted (or was gone already)
   */
  private boolean delete(AoeBootSlot slot) {
    String namespace = slot.getMetadata().getNamespace();
    String name = slot.getMetadata().getName();
    String uid = slot.getMetadata().getUid();
    DeleteOptions options = new DeleteOptionsBuilder().withPropagationPolicy(DeletionPropagation.BACKGROUND.toString())
        .withNewPreconditions().withUid(uid).endPreconditions().build();
    String url = "/apis/" + HasMetadata.getGroup(AoeBootSlot.class) + "/" + HasMetadata.getVersion(AoeBootSlot.class)
        + "/namespaces/" + namespace + "/" + HasMetadata.getPlural(AoeBootSlot.class) + "/" + name;
    try {
      client.raw(url, "DELETE", options);
      log.info("Deleted slot {}/{} ({})", namespace, name, target(slot));
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        return true;
      }
      if (e.getCode() == 409) {
        log.info("Did not delete slot {}/{}: it is another object now (UID precondition {}): {}", namespace, name, uid,
            e.getMessage());
        return false;
      }
      throw new SlotWriteException(namespace, name, "delete", e);
    }
  }

  private static String target(AoeBootSlot slot) {
    return Names.target(slot.getSpec().getShelf(), slot.getSpec().getSlot());
  }
}
