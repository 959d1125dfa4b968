package io.cowherd.agent.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.support.ApiServer;
import io.cowherd.api.MacAddress;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootClientSpec;
import io.cowherd.api.v1alpha1.BootProgress;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Stage writes are coalesced, seen from the API server: a client reading and writing without a
 * pause for a simulated minute, judged once a second as the agent does ({@link BootStages}), then
 * silent for a minute, changes its {@code AoeBootClient} exactly three times (Reading, Writing,
 * Silent) through the front door's writer ({@link BootFrontDoor#recordIoStage}), and not once more
 * while nothing changes; {@code status.boot} ends with the stage and the last read and write.
 */
@Tag("apiserver")
class IoStagesApiTest {
  private static final String NS = "stages";
  private static final MacAddress MAC = MacAddress.parse("52:54:00:ab:00:02").orElseThrow();
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
  void aMinuteOfIoThenAMinuteOfSilenceIsThreeStatusWrites() throws Exception {
    AoeBootClient pc = new AoeBootClient();
    pc.setMetadata(new ObjectMetaBuilder().withNamespace(NS).withName("pc").build());
    AoeBootClientSpec spec = new AoeBootClientSpec();
    spec.setMac(MAC.value());
    spec.setPool("debian");
    pc.setSpec(spec);
    client.resource(pc).create();
    List<String> modifications = new CopyOnWriteArrayList<>();
    try (Watch watch = client.resources(AoeBootClient.class).inNamespace(NS).withName("pc").watch(new Watcher<>() {
          @Override
          public void eventReceived(Action action, AoeBootClient resource) {
            if (action == Action.MODIFIED) {
              BootProgress boot = resource.getStatus() == null ? null : resource.getStatus().getBoot();
              modifications.add(boot == null ? "?" : boot.getStage());
            }
          }

          @Override
          public void onClose(WatcherException cause) {}
        });
        BootFrontDoor door = BootFrontDoor.start(client, ns -> true, "node-a", 0, 10)) {
      long mac = io.cowherd.aoe.frame.MacAddress.parse(MAC.value()).value();
      BootStages stages = new BootStages(Duration.ofSeconds(30), change -> door.recordIoStage(MAC, change));
      long t0 = Instant.parse("2026-12-02T15:00:00Z").toEpochMilli();
      long lastRead = 0;
      long lastWrite = 0;
      for (int s = 1; s <= 120; s++) {
        long now = t0 + s * 1000L;
        if (s <= 60) { // requests all the time: reads throughout, writes from the 20th second
          lastRead = now - 3;
          if (s >= 20) {
            lastWrite = now - 1;
          }
        }
        stages.observe(mac, lastRead, lastWrite, now);
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> modifications.contains("Silent"));
      await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
          .until(() -> modifications.size() == 3);
      assertThat(modifications).containsExactly("Reading", "Writing", "Silent");
      BootProgress boot = client.resources(AoeBootClient.class).inNamespace(NS).withName("pc").get().getStatus().getBoot();
      assertThat(boot.getStage()).isEqualTo("Silent");
      assertThat(boot.getNode()).isEqualTo("node-a");
      assertThat(boot.getStageSince()).isEqualTo("2026-12-02T15:01:30Z");
      assertThat(boot.getReadingAt()).isEqualTo("2026-12-02T15:00:59Z");
      assertThat(boot.getWritingAt()).isEqualTo("2026-12-02T15:00:59Z");
    }
  }
}
