package io.cowherd.agent.slot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.support.ApiServer;
import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The deletion path's two writes against a real API server: phase {@code Terminating}, then the
 * agent's finalizer released in the same cleanup ({@link SlotStatusWriter#releaseFinalizer}), also
 * when the object changed in between, and only the agent's finalizer.
 */
@Tag("apiserver")
class SlotFinalizerApiTest {
  private static final String NS = "lab";
  private static final String OTHER_FINALIZER = "example.com/keep";
  private static final String GONE_FINALIZER = "example.com/done";

  private ApiServer api;
  private KubernetesClient client;
  private SlotStatusWriter writer;

  @BeforeEach
  void setUp() throws IOException {
    api = ApiServer.start();
    client = api.client();
    client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
    writer = new SlotStatusWriter((slot, type, reason, message) -> { }, client);
  }

  @AfterEach
  void tearDown() {
    if (api != null) {
      api.close();
    }
  }

  /** A slot holding {@code finalizers}, deleted (so it waits for them), as the agent's cache shows it. */
  private AoeBootSlot deletedSlot(List<String> finalizers) {
    AoeBootSlot s = aSlot().shelf(9).slot(3).image("/images/debian.img").build();
    s.getMetadata().setUid(null);
    s.getMetadata().setGeneration(null);
    s.getMetadata().setOwnerReferences(List.of());
    s.getMetadata().setFinalizers(new ArrayList<>(finalizers));
    client.resource(s).create();
    slot().delete();
    return slot().get();
  }

  private Resource<AoeBootSlot> slot() {
    return client.resources(AoeBootSlot.class).inNamespace(NS).withName("debian-3");
  }

  @Test
  void terminatingThenTheFinalizerIsReleasedAndTheSlotIsGone() {
    AoeBootSlot cached = deletedSlot(List.of(Names.SLOT_FINALIZER));

    AoeBootSlot written = writer.markTerminating(cached, "tearing down").orElseThrow();
    assertThat(written.getStatus().getPhase()).isEqualTo(SlotPhase.Terminating);
    assertThat(writer.releaseFinalizer(written, cached)).isTrue();

    assertThat(slot().get()).as("no finalizer left: deleted").isNull();
    assertThat(cached.getMetadata().getFinalizers()).as("JOSDK sees it gone and does not patch again").isEmpty();
  }

  @Test
  void onlyTheAgentsFinalizerGoesAlsoWhenTheListChangedAfterTheStatusWrite() {
    AoeBootSlot cached = deletedSlot(List.of(GONE_FINALIZER, OTHER_FINALIZER, Names.SLOT_FINALIZER));
    AoeBootSlot written = writer.markTerminating(cached, "tearing down").orElseThrow();
    // Someone else removes their finalizer meanwhile: the agent's moves from index 2 to 1.
    slot().edit(s -> {
      s.getMetadata().setFinalizers(new ArrayList<>(List.of(OTHER_FINALIZER, Names.SLOT_FINALIZER)));
      return s;
    });

    assertThat(writer.releaseFinalizer(written, cached)).isTrue();

    assertThat(slot().get().getMetadata().getFinalizers()).containsExactly(OTHER_FINALIZER);
    assertThat(slot().get().getStatus().getPhase()).isEqualTo(SlotPhase.Terminating);
  }
}
