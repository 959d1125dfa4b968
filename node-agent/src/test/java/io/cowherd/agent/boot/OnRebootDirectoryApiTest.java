package io.cowherd.agent.boot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.support.ApiServer;
import io.cowherd.api.MacAddress;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootClientSpec;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootPoolSpec;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.UpdateStrategy;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes-backed boot directory under {@code updateStrategy: OnReboot}, on a real API
 * server: a client whose slot is stale is held with an update request, then held while its slot is
 * rebuilt, then gets its script once its agent reports the rebuild served. The operator's part (the
 * move) is written by the test as the operator writes it ({@code OriginRollout}).
 */
@Tag("apiserver")
class OnRebootDirectoryApiTest {
  private static final String NS = "onreboot";
  private static final MacAddress MAC = MacAddress.parse("52:54:00:ab:00:01").orElseThrow();
  private static ApiServer api;
  private static KubernetesClient client;

  @BeforeAll
  static void start() throws IOException {
    api = ApiServer.start();
    client = api.client();
    client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
  }

  @AfterAll
  static void stop() {
    if (api != null) {
      api.close();
    }
  }

  @Test
  void aStaleSlotHoldsItsClientsScriptUntilItServesTheNewImage() {
    AoeBootPool pool = new AoeBootPool();
    pool.setMetadata(new ObjectMetaBuilder().withNamespace(NS).withName("debian").build());
    AoeBootPoolSpec spec = new AoeBootPoolSpec();
    spec.setImage("/srv/images/v2.img");
    spec.setInterface("eth1");
    spec.setShelf(21);
    spec.setUpdateStrategy(UpdateStrategy.OnReboot);
    pool.setSpec(spec);
    client.resource(pool).create();
    AoeBootSlot slot = aSlot().namespace(NS).pool("debian").slot(0).shelf(21).image("/srv/images/v1.img").build();
    slot.getMetadata().setUid(null);
    slot.getMetadata().setGeneration(null);
    slot.getMetadata().setOwnerReferences(null);
    slot.getSpec().setPoolImage("/srv/images/v2.img");
    client.resource(slot).create();
    AoeBootClient pc = new AoeBootClient();
    pc.setMetadata(new ObjectMetaBuilder().withNamespace(NS).withName("pc").build());
    AoeBootClientSpec clientSpec = new AoeBootClientSpec();
    clientSpec.setMac(MAC.value());
    clientSpec.setPool("debian");
    pc.setSpec(clientSpec);
    client.resource(pc).create();
    patchStatus(AoeBootClient.class, "pc", Map.of("slot", 0, "target", "e21.0", "mac", MAC.value()));

    try (KubernetesBootDirectory directory = KubernetesBootDirectory.start(client, ns -> true, "node-a", Clock.systemUTC())) {
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(directory.answer(MAC, Optional.empty()))
          .isInstanceOfSatisfying(BootDirectory.Hold.class, h -> {
            assertThat(h.requestUpdate()).isTrue();
            assertThat(h.message()).contains("/srv/images/v2.img");
          }));

      patchStatus(AoeBootClient.class, "pc", Map.of("boot", Map.of("updateRequestedAt", "2026-12-02T14:00:00Z")));
      // the operator's move: image and token in one write
      client.resources(AoeBootSlot.class).inNamespace(NS).withName("debian-0").patch(PatchContext.of(PatchType.JSON_MERGE),
          Serialization.asJson(Map.of("spec", Map.of("image", "/srv/images/v2.img", "rebuild", "reboot-2026-12-02T14:00:00Z"))));
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(directory.answer(MAC, Optional.empty()))
          .isInstanceOfSatisfying(BootDirectory.Hold.class, h -> {
            assertThat(h.requestUpdate()).isFalse();
            assertThat(h.message()).contains("being rebuilt on /srv/images/v2.img");
          }));

      long generation = client.resources(AoeBootSlot.class).inNamespace(NS).withName("debian-0").get().getMetadata()
          .getGeneration();
      patchStatus(AoeBootSlot.class, "debian-0", Map.of("phase", "Serving", "observedGeneration", generation,
          "origin", Map.of("path", "/srv/images/v2.img", "identity", "dev=1 ino=2 size=3 ctime=4.5", "changed", false,
              "stale", false, "rebuild", "reboot-2026-12-02T14:00:00Z")));
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(directory.answer(MAC, Optional.empty()))
          .isInstanceOfSatisfying(BootDirectory.Boot.class, b -> assertThat(b.target()).isEqualTo("e21.0")));
    }
  }

  private static void patchStatus(Class<? extends io.fabric8.kubernetes.api.model.HasMetadata> type, String name,
      Map<String, Object> status) {
    client.resources(type).inNamespace(NS).withName(name).subresource("status")
        .patch(PatchContext.of(PatchType.JSON_MERGE), Serialization.asJson(Map.of("status", status)));
  }
}
