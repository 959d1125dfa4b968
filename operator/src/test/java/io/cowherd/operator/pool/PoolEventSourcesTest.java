package io.cowherd.operator.pool;

import static io.cowherd.operator.support.Pools.aPool;
import static io.cowherd.operator.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootPoolStatus;
import io.cowherd.operator.status.Conditions;
import io.cowherd.operator.support.Nodes;
import io.fabric8.kubernetes.api.model.Node;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class PoolEventSourcesTest {
  private static final AoeBootPool OWNER = aPool().named("owner").shelf(7).build();
  private static final AoeBootPool SAME_SHELF = aPool().named("neighbour").shelf(7).build();
  private static final AoeBootPool OTHER_SHELF = aPool().named("far").shelf(9).build();
  private static final AoeBootPool IN_CONFLICT = aPool().named("loser").shelf(9).status(conflicted()).build();

  private static AoeBootPoolStatus conflicted() {
    AoeBootPoolStatus status = new AoeBootPoolStatus();
    status.setConditions(List.of(Conditions.of("Conflict", true, "TargetConflict", "x", 1, Instant.EPOCH)));
    return status;
  }

  private static List<String> names(Set<ResourceID> ids) {
    return ids.stream().map(ResourceID::getName).sorted().toList();
  }

  @Test
  void slotEventWakesItsPoolPoolsOnItsShelfAndPoolsInConflict() {
    var cache = new FakeCache(List.of(OWNER, SAME_SHELF, OTHER_SHELF, IN_CONFLICT));

    var pools = PoolEventSources.slotToPools(aSlot(OWNER, 0).build(), cache);

    assertThat(names(pools)).containsExactly("loser", "neighbour", "owner");
  }

  @Test
  void slotOfUnreconciledPoolDoesNotWakeIt() {
    var cache = new FakeCache(List.of(OTHER_SHELF));

    assertThat(PoolEventSources.slotToPools(aSlot(OWNER, 0).build(), cache)).isEmpty();
  }

  @Test
  void poolEventWakesOtherPoolsOnItsShelfOrInConflictButNotItself() {
    var cache = new FakeCache(List.of(OWNER, SAME_SHELF, OTHER_SHELF, IN_CONFLICT));

    assertThat(names(PoolEventSources.poolToOtherPools(OWNER, cache))).containsExactly("loser", "neighbour");
  }

  @Test
  void agentLeaseEventWakesOnlyPoolsWaitingForAnEligibleNode() {
    AoeBootPoolStatus waiting = new AoeBootPoolStatus();
    waiting.setConditions(List.of(Conditions.of("Progressing", true, "NoEligibleNode", "x", 1, Instant.EPOCH)));
    AoeBootPool unplaced = aPool().named("unplaced").shelf(11).status(waiting).build();
    var cache = new FakeCache(List.of(OWNER, IN_CONFLICT, unplaced));

    assertThat(names(PoolEventSources.waitingForANode(cache))).containsExactly("unplaced");
  }

  @Test
  void nodeUpdateMattersOnlyForReadinessOrSchedulability() {
    Node ready = Nodes.ready("n1");

    assertThat(PoolEventSources.placementChanged(Nodes.ready("n1"), ready)).isFalse();
    assertThat(PoolEventSources.placementChanged(Nodes.notReady("n1"), ready)).isTrue();
    assertThat(PoolEventSources.placementChanged(Nodes.unschedulable("n1"), ready)).isTrue();
    assertThat(PoolEventSources.placementChanged(Nodes.ready("n1", Map.of("role", "boot")), ready))
        .as("labels do not decide placement: the agent DaemonSet's scheduling does").isFalse();
  }

  /** Primary cache holding fixed pools. */
  private record FakeCache(List<AoeBootPool> pools) implements IndexerResourceCache<AoeBootPool> {
    @Override
    public Optional<AoeBootPool> get(ResourceID id) {
      return pools.stream().filter(p -> ResourceID.fromResource(p).equals(id)).findFirst();
    }

    @Override
    public Stream<ResourceID> keys() {
      return pools.stream().map(ResourceID::fromResource);
    }

    @Override
    public Stream<AoeBootPool> list(Predicate<AoeBootPool> predicate) {
      return pools.stream().filter(predicate);
    }

    @Override
    public Stream<AoeBootPool> list(String namespace, Predicate<AoeBootPool> predicate) {
      return list(predicate.and(p -> namespace.equals(p.getMetadata().getNamespace())));
    }

    @Override
    public void addIndexers(Map<String, Function<AoeBootPool, List<String>>> indexers) {
      throw new UnsupportedOperationException();
    }

    @Override
    public List<AoeBootPool> byIndex(String indexName, String indexKey) {
      throw new UnsupportedOperationException();
    }
  }
}
