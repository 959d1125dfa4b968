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
import io.javaoperatorsdk.operator.Operator;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
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
    Vblade vblade = new Vblade(HostTools.requireProgram("vblade", "vblade").toString());
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
      s.getMetadata().setGeneration(null);
      s.getMetadata().setUid(null);
      client.resource(s).create();
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
    assertThat(eventsOf("debian-3")).anyMatch(e -> "Serving".equals(e.getReason()));
    assertThat(slot("debian-5").get().getStatus().getPhase()).as("spec.nodeName node-b: skipped").isNull();
    assertThat(slot("debian-6").get().getStatus().getPhase()).as("labelled node-b: never seen").isNull();
    assertThat(slot("debian-6").get().getMetadata().getFinalizers()).isEmpty();

    long pid = slot("debian-3").get().getStatus().getExporterPid();
    ProcessHandle.of(pid).orElseThrow().destroyForcibly();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      AoeBootSlot s = slot("debian-3").get();
      assertThat(s.getStatus().getRestarts()).isEqualTo(1);
      assertThat(s.getStatus().getLastExitCode()).isEqualTo(137);
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
}
