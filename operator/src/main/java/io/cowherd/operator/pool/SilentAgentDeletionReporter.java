package io.cowherd.operator.pool;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootPoolStatus;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.operator.liveness.LivenessConditionWriter;
import io.cowherd.operator.status.Conditions;
import io.cowherd.operator.status.PoolConditions;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Says why a pool deletion waits when slots it waits for sit on nodes whose agents are silent
 * (their slots carry {@link LivenessConditionWriter#TYPE}=Unknown): a Warning Event {@link
 * PoolConditions#AGENT_SILENT} on the pool and condition Progressing=True with that reason, both
 * naming the nodes; written only when the set of silent nodes (the message) changes. What was
 * reported is also remembered per pool (by UID): the pool a reconcile gets comes from the informer
 * cache, which may not show this reporter's own status write yet, and must not bring a second Event.
 */
public final class SilentAgentDeletionReporter {
  private static final Logger LOG = LoggerFactory.getLogger(SilentAgentDeletionReporter.class);

  private final KubernetesClient client;
  private final PoolEventRecorder events;
  private final Clock clock;
  /** Pool UID → the message last reported for it. */
  private final Map<String, String> reported = new ConcurrentHashMap<>();

  /**
   * @param client client allowed to patch {@code aoebootpools/status}
   * @param events where the Warning Event goes
   * @param clock time source of {@code lastTransitionTime}
   */
  public SilentAgentDeletionReporter(KubernetesClient client, PoolEventRecorder events, Clock clock) {
    this.client = client;
    this.events = events;
    this.clock = clock;
  }

  /**
   * The message naming the silent nodes among {@code remaining} slots and the slots waiting on each,
   * or empty when no remaining slot's agent is silent. Pure.
   */
  static Optional<String> message(List<AoeBootSlot> remaining) {
    Map<String, List<String>> byNode = new TreeMap<>();
    remaining.stream()
        .filter(s -> s.getSpec() != null && s.getSpec().getNodeName() != null)
        .filter(s -> LivenessConditionWriter.current(s).filter(c -> "Unknown".equals(c.getStatus())).isPresent())
        .sorted(Comparator.comparing(s -> s.getMetadata().getName()))
        .forEach(s -> byNode.computeIfAbsent(s.getSpec().getNodeName(), n -> new ArrayList<>()).add(s.getMetadata().getName()));
    if (byNode.isEmpty()) {
      return Optional.empty();
    }
    StringBuilder text = new StringBuilder("deletion waits for the node agents of ")
        .append(byNode.size() == 1 ? "node " : "nodes ").append(String.join(", ", byNode.keySet()))
        .append(", which are silent (no heartbeat), to tear down their slots:");
    byNode.forEach((node, slots) -> text.append(' ').append(node).append(": ").append(String.join(", ", slots)).append(';'));
    text.setLength(text.length() - 1);
    return Optional.of(text.append(". Start the agent on those nodes again; the deletion then completes by itself.")
        .toString());
  }

  /**
   * Reports {@code pool}'s wait on silent agents, if any, and only when it changed.
   *
   * @param remaining the pool's slot objects that still exist
   */
  public void report(AoeBootPool pool, List<AoeBootSlot> remaining) {
    Optional<String> message = message(remaining);
    String uid = pool.getMetadata().getUid() == null ? "" : pool.getMetadata().getUid();
    if (message.isEmpty()) {
      reported.remove(uid);
      return;
    }
    List<Condition> before = pool.getStatus() == null ? List.of() : pool.getStatus().getConditions();
    Optional<Condition> progressing = Conditions.find(before, PoolConditions.PROGRESSING);
    if (progressing.filter(c -> PoolConditions.AGENT_SILENT.equals(c.getReason())
        && Objects.equals(message.get(), c.getMessage())).isPresent()
        || message.get().equals(reported.put(uid, message.get()))) {
      return;
    }
    events.warning(pool, PoolConditions.AGENT_SILENT, message.get());
    long generation = pool.getMetadata().getGeneration() == null ? 0 : pool.getMetadata().getGeneration();
    Condition waiting = Conditions.of(PoolConditions.PROGRESSING, true, PoolConditions.AGENT_SILENT, message.get(),
        generation, clock.instant());
    List<Condition> conditions = new ArrayList<>();
    before.stream().filter(c -> !PoolConditions.PROGRESSING.equals(c.getType())).forEach(conditions::add);
    conditions.add(waiting);
    AoeBootPoolStatus status = pool.getStatus() == null ? new AoeBootPoolStatus() : copyOf(pool.getStatus());
    status.setConditions(Conditions.keepTransitionTimes(before, conditions));
    AoeBootPool patch = new AoeBootPool();
    patch.setMetadata(new ObjectMetaBuilder().withName(pool.getMetadata().getName())
        .withNamespace(pool.getMetadata().getNamespace()).build());
    patch.setStatus(status);
    try {
      // The whole status, with the field manager of every other pool status write: one writer.
      client.resources(AoeBootPool.class).inNamespace(pool.getMetadata().getNamespace())
          .withName(pool.getMetadata().getName()).subresource("status")
          .patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
              .withFieldManager(SlotSetExecutor.FIELD_MANAGER).withForce(true).build(), patch);
    } catch (KubernetesClientException e) {
      reported.remove(uid); // the next reconcile tries again
      LOG.warn("pool {}/{}: cannot say in status that deletion waits for silent agents: {}",
          pool.getMetadata().getNamespace(), pool.getMetadata().getName(), e.getMessage());
    }
  }

  private static AoeBootPoolStatus copyOf(AoeBootPoolStatus s) {
    AoeBootPoolStatus c = new AoeBootPoolStatus();
    c.setObservedGeneration(s.getObservedGeneration());
    c.setReplicas(s.getReplicas());
    c.setReadyReplicas(s.getReadyReplicas());
    c.setSelector(s.getSelector());
    return c;
  }
}
