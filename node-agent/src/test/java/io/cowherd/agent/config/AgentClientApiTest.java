package io.cowherd.agent.config;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.support.ApiServer;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The agent's own client ({@link AgentClient}) against a real API server: its informers, fed by
 * watch events its narrowed serialization reads, see typed objects and their updates.
 */
@Tag("apiserver")
class AgentClientApiTest {
  private static final String NS = "agent-client";
  private static ApiServer api;
  private static KubernetesClient admin;

  @BeforeAll
  static void start() {
    api = ApiServer.start();
    admin = api.client();
    admin.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
  }

  @AfterAll
  static void stop() {
    if (api != null) {
      api.close();
    }
  }

  @Test
  void informersSeeTypedSlotsAndLeasesAndTheirUpdates() {
    try (KubernetesClient agent = api.agentClient();
        SharedIndexInformer<AoeBootSlot> slots = agent.resources(AoeBootSlot.class).inNamespace(NS).inform();
        SharedIndexInformer<Lease> leases = agent.leases().inNamespace(NS).inform()) {
      AoeBootSlot slot = aSlot().namespace(NS).pool("debian").slot(2).shelf(9).build();
      slot.getMetadata().setUid(null);
      slot.getMetadata().setGeneration(null);
      slot.getMetadata().setOwnerReferences(null);
      admin.resource(slot).create();
      admin.resource(new LeaseBuilder().withNewMetadata().withNamespace(NS).withName("node-a").endMetadata()
          .withNewSpec().withHolderIdentity("node-a").withLeaseDurationSeconds(40).endSpec().build()).create();

      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        assertThat(slots.getStore().getByKey(NS + "/debian-2")).isInstanceOfSatisfying(AoeBootSlot.class,
            s -> assertThat(s.getSpec().getShelf()).isEqualTo(9));
        assertThat(leases.getStore().getByKey(NS + "/node-a")).isInstanceOfSatisfying(Lease.class,
            l -> assertThat(l.getSpec().getHolderIdentity()).isEqualTo("node-a"));
      });

      admin.leases().inNamespace(NS).withName("node-a").edit(l -> {
        l.getSpec().setHolderIdentity("node-b");
        return l;
      });
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(leases.getStore().getByKey(NS + "/node-a")
          .getSpec().getHolderIdentity()).isEqualTo("node-b"));
      assertThat(slots.isWatching()).isTrue();
      assertThat(leases.isWatching()).isTrue();
    }
  }
}
