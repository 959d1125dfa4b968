package io.cowherd.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.WatchEvent;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import org.junit.jupiter.api.Test;

/** The agent's serialization: its own kinds registered, no class-path scan for the rest. */
class AgentClientTest {
  private static final String SLOT_API_VERSION = HasMetadata.getApiVersion(AoeBootSlot.class);

  @Test
  void knowsTheAgentKindsAndLoadsNoOtherModelKind() {
    KubernetesSerialization serialization = AgentClient.serialization();

    assertThat(serialization.getRegisteredKubernetesResource(SLOT_API_VERSION, "AoeBootSlot")).isEqualTo(AoeBootSlot.class);
    assertThat(serialization.getRegisteredKubernetesResource(SLOT_API_VERSION, "AoeBootPool")).isEqualTo(AoeBootPool.class);
    assertThat(serialization.getRegisteredKubernetesResource("coordination.k8s.io/v1", "Lease")).isEqualTo(Lease.class);
    assertThat(serialization.getRegisteredKubernetesResource("v1", "Status")).isEqualTo(Status.class);
    assertThat(serialization.getRegisteredKubernetesResource("gateway.networking.k8s.io/v1", "GRPCRoute"))
        .as("no scan of the model jars' service files").isNull();
  }

  @Test
  void fabric8sDefaultScansTheWholeModel() {
    // The contrast that makes the test above mean something: the default registers every model kind.
    assertThat(new KubernetesSerialization().getRegisteredKubernetesResource("gateway.networking.k8s.io/v1", "GRPCRoute"))
        .isNotNull();
  }

  @Test
  void watchEventsOfAgentKindsAndErrorsAreReadIntoTheirClasses() {
    KubernetesSerialization serialization = AgentClient.serialization();

    WatchEvent added = serialization.unmarshal("{\"type\":\"ADDED\",\"object\":{\"apiVersion\":\"" + SLOT_API_VERSION
        + "\",\"kind\":\"AoeBootSlot\",\"metadata\":{\"name\":\"debian-0\",\"namespace\":\"lab\",\"resourceVersion\":\"7\"},"
        + "\"spec\":{\"pool\":\"debian\",\"slot\":0}}}", WatchEvent.class);
    WatchEvent gone = serialization.unmarshal("{\"type\":\"ERROR\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Status\","
        + "\"status\":\"Failure\",\"reason\":\"Expired\",\"code\":410}}", WatchEvent.class);

    assertThat(added.getObject()).isInstanceOfSatisfying(AoeBootSlot.class, s -> {
      assertThat(s.getMetadata().getName()).isEqualTo("debian-0");
      assertThat(s.getSpec().getPool()).isEqualTo("debian");
    });
    assertThat(gone.getObject()).isInstanceOfSatisfying(Status.class, s -> assertThat(s.getCode()).isEqualTo(410));
  }
}
