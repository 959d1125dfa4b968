package io.cowherd.operator.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.ExportSpec;
import io.cowherd.operator.support.ApiServerExtension;
import io.cowherd.operator.support.ApiServerHarness;
import io.cowherd.operator.support.Pools;
import com.fasterxml.jackson.core.type.TypeReference;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Bad pools are rejected by the API server (CRD schema and CEL), naming the field. */
@Tag("apiserver")
@ExtendWith(ApiServerExtension.class)
class PoolAdmissionApiTest {
  private static final String NAMESPACE = "admission";
  private static KubernetesClient client;

  @BeforeAll
  static void connect(ApiServerHarness harness) {
    client = harness.client();
    client.resource(new NamespaceBuilder().withNewMetadata().withName(NAMESPACE).endMetadata().build()).serverSideApply();
  }

  static Stream<Arguments> badPools() {
    return Stream.of(
        Arguments.of("shelf 4095", (UnaryOperator<Pools>) p -> p.shelf(4095), "spec.shelf"),
        Arguments.of("shelf 65535", (UnaryOperator<Pools>) p -> p.shelf(65535), "spec.shelf"),
        Arguments.of("shelf -1", (UnaryOperator<Pools>) p -> p.shelf(-1), "spec.shelf"),
        Arguments.of("replicas 256", (UnaryOperator<Pools>) p -> p.replicas(256), "spec.replicas"),
        Arguments.of("replicas -1", (UnaryOperator<Pools>) p -> p.replicas(-1), "spec.replicas"),
        Arguments.of("interface eth0;reboot", (UnaryOperator<Pools>) p -> p.iface("eth0;reboot"), "spec.interface"),
        Arguments.of("interface longer than 15", (UnaryOperator<Pools>) p -> p.iface("eth0123456789abc"), "spec.interface"),
        Arguments.of("image relative/disk.img", (UnaryOperator<Pools>) p -> p.image("relative/disk.img"), "spec.image"),
        Arguments.of("image /a/../b", (UnaryOperator<Pools>) p -> p.image("/a/../b"), "spec.image"),
        Arguments.of("name of 53 characters", (UnaryOperator<Pools>) p -> p.named("p".repeat(53)), "metadata.name"));
  }

  @ParameterizedTest(name = "{0} is rejected naming {2}")
  @MethodSource("badPools")
  void badPoolIsRejectedNamingTheField(String description, UnaryOperator<Pools> change, String field) {
    AoeBootPool pool = fresh(change.apply(Pools.aPool().named("bad").inNamespace(NAMESPACE)).build());

    assertThatThrownBy(() -> client.resource(pool).create())
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
        .hasMessageContaining(field);
  }

  @Test
  void validPoolIsAcceptedWithDefaults() {
    AoeBootPool pool = fresh(Pools.aPool().named("good").inNamespace(NAMESPACE).shelf(4094).replicas(255).image("/a/..b/c.img").build());

    AoeBootPool created = client.resource(pool).dryRun().create();

    assertThat(created.getSpec().getCow().getChunkSectors()).isEqualTo(64);
  }

  @Test
  void writeCacheIsABooleanAndMayBeLeftOut() {
    AoeBootPool pool = fresh(Pools.aPool().named("cache").inNamespace(NAMESPACE).build());
    pool.getSpec().setExport(null);
    ExportSpec export = client.resource(pool).dryRun().create().getSpec().getExport();
    assertThat(export == null || !export.writeCacheOrDefault()).as("export left out: durable").isTrue();

    Map<String, Object> raw = Serialization.jsonMapper().convertValue(pool, new TypeReference<Map<String, Object>>() {});
    @SuppressWarnings("unchecked")
    Map<String, Object> spec = (Map<String, Object>) raw.get("spec");
    spec.put("export", Map.of("writeCache", "yes"));
    GenericKubernetesResource bad = Serialization.jsonMapper().convertValue(raw, GenericKubernetesResource.class);
    assertThatThrownBy(() -> client.resource(bad).create())
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
        .hasMessageContaining("spec.export.writeCache");
  }

  /** The builder's pool as a user would write it: no uid, generation, timestamps or status. */
  private static AoeBootPool fresh(AoeBootPool pool) {
    pool.getMetadata().setUid(null);
    pool.getMetadata().setGeneration(null);
    pool.getMetadata().setCreationTimestamp(null);
    pool.setStatus(null);
    return pool;
  }
}
