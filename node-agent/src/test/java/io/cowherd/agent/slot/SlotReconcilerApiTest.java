package io.cowherd.agent.slot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.support.ApiServer;
import io.cowherd.agent.support.HostTools;
import io.cowherd.agent.support.LoopMountedFs;
import io.cowherd.agent.support.TestAgent;
import io.cowherd.api.Names;
import io.cowherd.api.SlotReclaim;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.ReclaimPolicy;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.Operator;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's JOSDK wiring against a real API server, on real host tools: label selector, the
 * finalizer the operator relies on, status by server-side apply from a fresh object, Events, the
 * exporter event source (a restart shows up long before the 60 s periodic reconcile), teardown
 * before the finalizer goes.
 */
@Tag("apiserver")
@Tag("host")
class SlotReconcilerApiTest {
  private static final String NS = "lab";

  @TempDir Path tmp;
  private ApiServer api;
  private KubernetesClient client;
  private LoopMountedFs fs;
  private String iface;
  private TestAgent agent;
  private Operator operator;
  private Path images;
  private Path stateDir;

  @BeforeEach
  void setUp() throws IOException {
    HostTools.requireRoot();
    Vblade vblade = HostTools.requireVblade();
    api = ApiServer.start();
    client = api.client();
    fs = LoopMountedFs.xfs(tmp, 1);
    iface = HostTools.createVethPair();
    images = Files.createDirectories(fs.mountPoint().resolve("images"));
    try (RandomAccessFile f = new RandomAccessFile(images.resolve("debian.img").toFile(), "rw")) {
      f.setLength(8 << 20);
    }
    stateDir = Files.createDirectories(fs.mountPoint().resolve("state"));
    client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
    agent = new TestAgent("node-a", stateDir, List.of(images), vblade, client,
        new KubernetesSlotEvents(client, "node-a", Clock.systemUTC()));
    operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    operator.register(agent.reconciler, o -> o.withLabelSelector(SlotReconciler.labelSelector("node-a")).watchingAllNamespaces());
    operator.start();
  }

  @AfterEach
  void tearDown() throws IOException {
    if (operator != null) {
      operator.stop();
    }
    if (agent != null) {
      agent.close();
    }
    HostTools.killVbladesMentioning(tmp.toString());
    HostTools.deleteVethPair(iface);
    if (fs != null) {
      fs.close();
    }
    if (api != null) {
      api.close();
    }
  }

  private Resource<AoeBootSlot> slot(String name) {
    return client.resources(AoeBootSlot.class).inNamespace(NS).withName(name);
  }

  private List<Event> eventsOf(String name) {
    return client.v1().events().inNamespace(NS).list().getItems().stream()
        .filter(e -> name.equals(e.getInvolvedObject().getName())).toList();
  }

  @Test
  void servesReportsRestartsAndTearsDownThroughTheApiServer() {
    AoeBootSlot good = aSlot().shelf(9).slot(3).iface(iface).image(images.resolve("debian.img").toString())
        .backend(CowBackend.REFLINK).build();
    AoeBootSlot bad = aSlot().shelf(9).slot(4).iface(iface).image("/etc/passwd").backend(CowBackend.REFLINK).build();
    AoeBootSlot foreign = aSlot().shelf(9).slot(5).node("node-b").iface(iface).image(images.resolve("debian.img").toString()).build();
    foreign.getMetadata().getLabels().put(Names.NODE_LABEL, "node-a"); // labelled for us, but spec says node-b
    AoeBootSlot unseen = aSlot().shelf(9).slot(6).node("node-b").iface(iface).image(images.resolve("debian.img").toString()).build();
    for (AoeBootSlot s : List.of(good, bad, foreign, unseen)) {
      create(s);
    }

    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      AoeBootSlot s = slot("debian-3").get();
      assertThat(s.getMetadata().getFinalizers()).containsExactly(Names.SLOT_FINALIZER);
      assertThat(s.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
      assertThat(s.getStatus().getExporterPid()).isNotNull();
      assertThat(s.getStatus().getObservedGeneration()).isEqualTo(s.getMetadata().getGeneration());
    });
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      AoeBootSlot s = slot("debian-4").get();
      assertThat(s.getStatus().getPhase()).isEqualTo(SlotPhase.Failed);
      assertThat(s.getStatus().getMessage()).contains("is not under an allowed image root");
      assertThat(eventsOf("debian-4")).anyMatch(e -> "InvalidSpec".equals(e.getReason()) && "Warning".equals(e.getType()));
    });
    // Events are written in the background, after the reconciliation that records them.
    await().atMost(Duration.ofSeconds(30)).untilAsserted(
        () -> assertThat(eventsOf("debian-3")).anyMatch(e -> "Serving".equals(e.getReason())));
    assertThat(slot("debian-5").get().getStatus().getPhase()).as("spec.nodeName node-b: skipped").isNull();
    assertThat(slot("debian-6").get().getStatus().getPhase()).as("labelled node-b: never seen").isNull();
    assertThat(slot("debian-6").get().getMetadata().getFinalizers()).isEmpty();

    long pid = slot("debian-3").get().getStatus().getExporterPid();
    ProcessHandle.of(pid).orElseThrow().destroyForcibly();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      AoeBootSlot s = slot("debian-3").get();
      assertThat(s.getStatus().getRestarts()).isEqualTo(1);
      assertThat(s.getStatus().getLastExitCode()).as("exporters are not the agent's children: exit code unknown").isNull();
      assertThat(s.getStatus().getExporterPid()).isNotEqualTo(pid);
      assertThat(s.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
    });

    Path clone = stateDir.resolve("lab/debian/slot-3.img");
    assertThat(clone).exists();
    // As the operator does for a scale-down under reclaim policy Delete: mark, then delete.
    slot("debian-3").edit(s -> {
      s.getMetadata().getAnnotations().putAll(SlotReclaim.mark(ReclaimPolicy.Delete));
      return s;
    });
    slot("debian-3").delete();
    slot("debian-4").delete();
    slot("debian-5").delete();
    slot("debian-6").delete();
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(slot("debian-3").get()).isNull();
      assertThat(slot("debian-4").get()).isNull();
      assertThat(slot("debian-5").get()).isNull();
      assertThat(slot("debian-6").get()).isNull();
    });
    assertThat(clone).doesNotExist();
    assertThat(new VbladeProcesses(Path.of("/proc"), new Vblade("vblade")).scan())
        .noneMatch(p -> p.target().path().equals(clone));
  }

  /**
   * A slot created with the agent's finalizer already on it (as the operator creates every slot) is
   * served by the agent's first reconcile: JOSDK adds no finalizer, so every write after the create
   * is a status write (the managedFields outside the status subresource stay the creator's), while
   * a slot created without it gets the agent's finalizer patch (the same evidence, shown to catch
   * one). Deleting either releases the finalizer, whoever wrote it.
   */
  @Test
  void slotCreatedWithTheAgentsFinalizerIsServedWithoutAFinalizerPatch() {
    AoeBootSlot preset = aSlot().shelf(9).slot(8).iface(iface).image(images.resolve("debian.img").toString())
        .backend(CowBackend.REFLINK).build();
    preset.getMetadata().setFinalizers(List.of(Names.SLOT_FINALIZER));
    AoeBootSlot bare = aSlot().shelf(9).slot(9).iface(iface).image(images.resolve("debian.img").toString())
        .backend(CowBackend.REFLINK).build();
    List<String> presetWrites = writesOutsideStatus(create(preset));
    List<String> bareWrites = writesOutsideStatus(create(bare));

    for (String name : List.of("debian-8", "debian-9")) {
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        AoeBootSlot s = slot(name).get();
        assertThat(s.getMetadata().getFinalizers()).containsExactly(Names.SLOT_FINALIZER);
        assertThat(s.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
        assertThat(s.getStatus().getObservedGeneration()).isEqualTo(s.getMetadata().getGeneration());
      });
    }
    assertThat(writesOutsideStatus(slot("debian-8").get())).as("no finalizer patch, no other metadata write")
        .isEqualTo(presetWrites);
    assertThat(writesOutsideStatus(slot("debian-9").get())).as("the agent added its finalizer")
        .containsAll(bareWrites).hasSize(bareWrites.size() + 1)
        .anySatisfy(w -> assertThat(w).contains("f:finalizers"));

    slot("debian-8").delete();
    slot("debian-9").delete();
    await().atMost(Duration.ofSeconds(30)).until(() -> slot("debian-8").get() == null && slot("debian-9").get() == null);
  }

  /** Creates {@code s} as the operator would (no generation, no UID) and returns the object as created. */
  private AoeBootSlot create(AoeBootSlot s) {
    s.getMetadata().setGeneration(null);
    s.getMetadata().setUid(null);
    return client.resource(s).create();
  }

  /** Manager, operation and fields of each managedFields entry outside the status subresource. */
  private static List<String> writesOutsideStatus(AoeBootSlot s) {
    return s.getMetadata().getManagedFields().stream().filter(f -> !"status".equals(f.getSubresource()))
        .map(f -> f.getManager() + " " + f.getOperation() + " " + f.getFieldsV1()).toList();
  }

  /**
   * The operator writes only {@code status.conditions} (server-side apply, field manager {@code
   * cowherd-operator-liveness}, the request its LivenessConditionWriter makes); the agent's own
   * status writes (server-side apply by its controller) keep that condition, and the operator's
   * apply and removal of it keep the agent's fields.
   */
  @Test
  void agentStatusWritesAndTheOperatorsLivenessConditionKeepEachOthersFields() {
    AoeBootSlot good = aSlot().shelf(9).slot(7).iface(iface).image(images.resolve("debian.img").toString())
        .backend(CowBackend.REFLINK).build();
    create(good);
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(slot("debian-7").get().getStatus().getPhase()).isEqualTo(SlotPhase.Serving));
    long pid = slot("debian-7").get().getStatus().getExporterPid();

    applyOperatorStatus("debian-7", Map.of("conditions", List.of(Map.of("type", "AgentAlive", "status", "Unknown",
        "reason", "AgentSilent", "message", "node agent on node node-a is silent",
        "lastTransitionTime", "2026-01-01T00:00:00Z"))));
    AoeBootSlot marked = slot("debian-7").get();
    assertThat(marked.getStatus().getPhase()).as("operator's apply keeps the agent's fields").isEqualTo(SlotPhase.Serving);
    assertThat(marked.getStatus().getExporterPid()).isEqualTo(pid);

    ProcessHandle.of(pid).orElseThrow().destroyForcibly(); // the agent restarts it and writes its status
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      AoeBootSlot s = slot("debian-7").get();
      assertThat(s.getStatus().getRestarts()).isEqualTo(1);
      assertThat(s.getStatus().getExporterPid()).isNotEqualTo(pid);
    });
    AoeBootSlot afterAgent = slot("debian-7").get();
    assertThat(afterAgent.getStatus().getConditions()).as("agent's write keeps the operator's condition")
        .singleElement().satisfies(c -> assertThat(c.getReason()).isEqualTo("AgentSilent"));
    assertThat(afterAgent.getMetadata().getManagedFields())
        .filteredOn(f -> !"cowherd-operator-liveness".equals(f.getManager()))
        .allSatisfy(f -> assertThat(String.valueOf(f.getFieldsV1())).doesNotContain("f:conditions"));

    applyOperatorStatus("debian-7", Map.of());
    AoeBootSlot cleared = slot("debian-7").get();
    assertThat(cleared.getStatus().getConditions()).as("the operator's removal is not blocked by the agent").isNullOrEmpty();
    assertThat(cleared.getStatus().getRestarts()).as("and keeps the agent's fields").isEqualTo(1);
    assertThat(cleared.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
    slot("debian-7").delete();
    await().atMost(Duration.ofSeconds(30)).until(() -> slot("debian-7").get() == null);
  }

  private void applyOperatorStatus(String name, Map<String, Object> status) {
    Map<String, Object> intent = Map.of("apiVersion", "cowherd.io/v1alpha1", "kind", "AoeBootSlot",
        "metadata", Map.of("name", name, "namespace", NS), "status", status);
    slot(name).subresource("status").patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
        .withFieldManager("cowherd-operator-liveness").withForce(true).build(),
        client.getKubernetesSerialization().asJson(intent));
  }
}
