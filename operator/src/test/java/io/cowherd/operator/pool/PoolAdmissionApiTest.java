package io.cowherd.operator.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.ExportSpec;
import io.cowherd.api.v1alpha1.UpdateStrategy;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.CowSpec;
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
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
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
    AoeBootPool pool = change.apply(Pools.aPool().named("bad").inNamespace(NAMESPACE)).buildForCreate();

    assertThatThrownBy(() -> client.resource(pool).create())
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
        .hasMessageContaining(field);
  }

  @Test
  void validPoolIsAcceptedWithDefaults() {
    AoeBootPool pool = Pools.aPool().named("good").inNamespace(NAMESPACE).shelf(4094).replicas(255).image("/a/..b/c.img").buildForCreate();

    AoeBootPool created = client.resource(pool).dryRun().create();

    assertThat(created.getSpec().getCow().getChunkSectors()).isEqualTo(64);
  }

  @Test
  void updateStrategyDefaultsToManualAndRefusesOtherNames() {
    AoeBootPool pool = Pools.aPool().named("strategy").inNamespace(NAMESPACE).buildForCreate();
    pool.getSpec().setUpdateStrategy(null);
    assertThat(client.resource(pool).dryRun().create().getSpec().getUpdateStrategy()).isEqualTo(UpdateStrategy.Manual);

    Map<String, Object> raw = Serialization.jsonMapper().convertValue(pool, new TypeReference<Map<String, Object>>() {});
    @SuppressWarnings("unchecked")
    Map<String, Object> spec = (Map<String, Object>) raw.get("spec");
    spec.put("updateStrategy", "Immediately");
    GenericKubernetesResource bad = Serialization.jsonMapper().convertValue(raw, GenericKubernetesResource.class);
    assertThatThrownBy(() -> client.resource(bad).create())
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
        .hasMessageContaining("spec.updateStrategy")
        .hasMessageContaining("OnReboot");
  }

  static Stream<Arguments> badIdleUpdates() {
    return Stream.of(
        Arguments.of(Map.of("silentFor", "30s"), "at least 60s"),
        Arguments.of(Map.of("silentFor", "soon"), "spec.idleUpdate.silentFor"),
        Arguments.of(Map.of("silentFor", ""), "spec.idleUpdate.silentFor"),
        Arguments.of(Map.of("maxUnavailable", 1), "spec.idleUpdate.silentFor"),
        Arguments.of(Map.of("silentFor", "30m", "maxUnavailable", 0), "spec.idleUpdate.maxUnavailable"));
  }

  @ParameterizedTest(name = "idleUpdate {0} is rejected naming {1}")
  @MethodSource("badIdleUpdates")
  void badIdlePacingIsRejectedAtAdmission(Map<String, Object> idleUpdate, String expected) {
    AoeBootPool pool = Pools.aPool().named("idle-bad").inNamespace(NAMESPACE).buildForCreate();
    Map<String, Object> raw = Serialization.jsonMapper().convertValue(pool, new TypeReference<Map<String, Object>>() {});
    @SuppressWarnings("unchecked")
    Map<String, Object> spec = (Map<String, Object>) raw.get("spec");
    spec.put("idleUpdate", idleUpdate);
    GenericKubernetesResource bad = Serialization.jsonMapper().convertValue(raw, GenericKubernetesResource.class);
    assertThatThrownBy(() -> client.resource(bad).create())
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
        .hasMessageContaining(expected);
  }

  @Test
  void idlePacingTakesADurationAndDefaultsToOneAtATime() {
    AoeBootPool pool = Pools.aPool().named("idle-good").inNamespace(NAMESPACE).buildForCreate();
    pool.getSpec().setIdleUpdate(new io.cowherd.api.v1alpha1.IdleUpdateSpec("1h30m", null));

    AoeBootPool created = client.resource(pool).dryRun().create();

    assertThat(created.getSpec().getIdleUpdate().getMaxUnavailable()).isEqualTo(1);
    assertThat(created.getSpec().getIdleUpdate().silentForDuration()).isEqualTo(java.time.Duration.ofMinutes(90));
  }

  @Test
  void imageMayChangeOnALivePoolButStaysAnAbsolutePathWithoutDotDot() {
    AoeBootPool pool = client.resource(Pools.aPool().named("image-change").inNamespace(NAMESPACE).buildForCreate()).create();
    var live = client.resources(AoeBootPool.class).inNamespace(NAMESPACE).withName("image-change");

    live.patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"image\":\"/srv/images/v2.img\"}}");
    assertThat(live.get().getSpec().getImage()).isEqualTo("/srv/images/v2.img");
    assertThatThrownBy(() -> live.patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"image\":\"/srv/../etc/shadow\"}}"))
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
        .hasMessageContaining("'..' path segment");
    client.resource(pool).delete();
  }

  @Test
  void writeCacheIsABooleanAndMayBeLeftOut() {
    AoeBootPool pool = Pools.aPool().named("cache").inNamespace(NAMESPACE).buildForCreate();
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

  /**
   * A CEL transition rule on a field does not run when the field is missing on one side: every way
   * of removing or adding an immutable field of an existing pool is refused.
   */
  static Stream<Arguments> immutableFieldBypasses() {
    return Stream.of(
        Arguments.of("merge patch cow: null", PatchType.JSON_MERGE, "{\"spec\":{\"cow\":null}}", "cow is immutable"),
        Arguments.of("JSON patch remove /spec/cow", PatchType.JSON, "[{\"op\":\"remove\",\"path\":\"/spec/cow\"}]",
            "cow is immutable"),
        Arguments.of("merge patch cow.backend: null", PatchType.JSON_MERGE, "{\"spec\":{\"cow\":{\"backend\":null}}}",
            "cow is immutable"),
        Arguments.of("JSON patch remove /spec/cow/chunkSectors", PatchType.JSON,
            "[{\"op\":\"remove\",\"path\":\"/spec/cow/chunkSectors\"}]", "cow is immutable"),
        Arguments.of("merge patch cow replaced whole", PatchType.JSON_MERGE,
            "{\"spec\":{\"cow\":{\"backend\":\"dm-snapshot\",\"chunkSectors\":64}}}", "cow is immutable"),
        Arguments.of("JSON patch remove /spec/image", PatchType.JSON, "[{\"op\":\"remove\",\"path\":\"/spec/image\"}]",
            "spec.image"),
        Arguments.of("merge patch image: null", PatchType.JSON_MERGE, "{\"spec\":{\"image\":null}}", "spec.image"),
        Arguments.of("JSON patch remove /spec/shelf", PatchType.JSON, "[{\"op\":\"remove\",\"path\":\"/spec/shelf\"}]",
            "spec.shelf"),
        Arguments.of("merge patch shelf: null", PatchType.JSON_MERGE, "{\"spec\":{\"shelf\":null}}", "spec.shelf"));
  }

  @ParameterizedTest(name = "{0} is refused")
  @MethodSource("immutableFieldBypasses")
  void removingAnImmutableFieldOfAReflinkPoolIsRefused(String description, PatchType type, String patch, String expected) {
    String name = "bypass-" + Integer.toHexString(description.hashCode() & 0xffffff);
    client.resource(Pools.aPool().named(name).inNamespace(NAMESPACE).cow(CowBackend.REFLINK, 128).buildForCreate()).create();

    assertThatThrownBy(() -> client.resources(AoeBootPool.class).inNamespace(NAMESPACE).withName(name)
            .patch(PatchContext.of(type), patch))
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
        .hasMessageContaining(expected);
    AoeBootPool after = client.resources(AoeBootPool.class).inNamespace(NAMESPACE).withName(name).get();
    assertThat(after.getSpec().getCow()).isEqualTo(new CowSpec(CowBackend.REFLINK, 128));
  }

  @Test
  void updateWithoutCowOfAReflinkPoolIsRefused() {
    client.resource(Pools.aPool().named("put-no-cow").inNamespace(NAMESPACE).cow(CowBackend.REFLINK, 64).buildForCreate()).create();
    AoeBootPool seen = client.resources(AoeBootPool.class).inNamespace(NAMESPACE).withName("put-no-cow").get();
    seen.getSpec().setCow(null);

    assertThatThrownBy(() -> client.resource(seen).update())
        .isInstanceOf(KubernetesClientException.class)
        .hasMessageContaining("cow is immutable");
  }

  @Test
  void poolCreatedWithoutCowGetsTheDefaultsAndCannotGainAnotherCowLater() {
    String json = "{\"apiVersion\":\"cowherd.io/v1alpha1\",\"kind\":\"AoeBootPool\",\"metadata\":{\"name\":\"no-cow\","
        + "\"namespace\":\"" + NAMESPACE + "\"},\"spec\":{\"image\":\"/srv/images/a.img\",\"interface\":\"eth0\","
        + "\"shelf\":3,\"replicas\":0}}";
    client.resource(client.getKubernetesSerialization().unmarshal(json, AoeBootPool.class)).create();
    var pool = client.resources(AoeBootPool.class).inNamespace(NAMESPACE).withName("no-cow");
    assertThat(pool.get().getSpec().getCow()).isEqualTo(new CowSpec(CowBackend.DM_SNAPSHOT, 64));

    assertThatThrownBy(() -> pool.patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"cow\":{\"backend\":\"reflink\"}}}"))
        .isInstanceOf(KubernetesClientException.class)
        .hasMessageContaining("cow is immutable");
    pool.patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"replicas\":2}}");
    assertThat(pool.get().getSpec().getReplicas()).as("other fields still change").isEqualTo(2);
  }
}
