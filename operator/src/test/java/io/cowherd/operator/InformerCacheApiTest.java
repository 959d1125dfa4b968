package io.cowherd.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.operator.liveness.AgentLivenessReconciler;
import io.cowherd.operator.pool.PoolEventSources;
import io.cowherd.operator.pool.PoolReconciler;
import io.cowherd.operator.support.ApiServerExtension;
import io.cowherd.operator.support.ApiServerHarness;
import io.cowherd.operator.support.Cluster;
import io.cowherd.operator.support.FakeAgent;
import io.cowherd.operator.support.Heartbeat;
import io.cowherd.operator.support.Operators;
import io.cowherd.operator.support.Pools;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.processing.Controller;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The operator's informer caches (both controllers' primaries and the pool controller's slot and
 * pool informers) hold objects without {@code metadata.managedFields}, while the API server's
 * copies carry them (issue 11: {@link io.cowherd.api.LeanItemStore}), against a real kube-apiserver.
 */
@Tag("apiserver")
@ExtendWith(ApiServerExtension.class)
class InformerCacheApiTest {
  private static final String AGENTS_NS = "cache-system";
  private static final String NODE = "cache-a";
  private static final String NS = "cache-a";

  @Test
  @SuppressWarnings("unchecked")
  void informerCachesHoldNoManagedFieldsWhileTheApiServerHasThem(ApiServerHarness harness) {
    KubernetesClient client = harness.client();
    Cluster cluster = new Cluster(client);
    cluster.createNamespace(AGENTS_NS);
    cluster.createNamespace(NS);
    cluster.createReadyNode(NODE);
    OperatorRuntime runtime = Operators.startRuntime(client, AGENTS_NS);
    Operator agent = FakeAgent.start(NODE, client);
    Heartbeat heartbeat = Heartbeat.start(client, AGENTS_NS, NODE, 10);
    try {
      client.resource(Pools.aPool().inNamespace(NS).named("boot").shelf(812).replicas(2).buildForCreate()).create();
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
          assertThat(client.resources(AoeBootSlot.class).inNamespace(NS).list().getItems()).hasSize(2));
      assertThat(client.resources(AoeBootSlot.class).inNamespace(NS).list().getItems())
          .as("the API server's slots carry managedFields").allSatisfy(s -> assertThat(s.getMetadata().getManagedFields()).isNotEmpty());

      var pools = (Controller<AoeBootPool>) runtime.operator().getRegisteredController(PoolReconciler.NAME).orElseThrow();
      var liveness = (Controller<AoeBootSlot>) runtime.operator().getRegisteredController(AgentLivenessReconciler.NAME).orElseThrow();
      var slotInformer = (InformerEventSource<AoeBootSlot, AoeBootPool>) pools.getEventSourceManager()
          .getEventSourceFor(AoeBootSlot.class, PoolEventSources.SLOTS);
      var poolInformer = (InformerEventSource<AoeBootPool, AoeBootPool>) pools.getEventSourceManager()
          .getEventSourceFor(AoeBootPool.class, PoolEventSources.POOLS);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        List<HasMetadata> cached = new java.util.ArrayList<>();
        pools.getEventSourceManager().getControllerEventSource().list().forEach(cached::add);
        liveness.getEventSourceManager().getControllerEventSource().list().forEach(cached::add);
        slotInformer.list().forEach(cached::add);
        poolInformer.list().forEach(cached::add);
        assertThat(cached).hasSizeGreaterThanOrEqualTo(2 + 2 + 1 + 1)
            .allSatisfy(o -> assertThat(o.getMetadata().getManagedFields()).as(o.getMetadata().getName()).isNullOrEmpty());
      });
    } finally {
      cluster.deletePoolThenNodes(NS, "boot", () -> {
        heartbeat.stop();
        agent.stop();
        runtime.stop();
      }, List.of(NODE));
    }
  }
}
