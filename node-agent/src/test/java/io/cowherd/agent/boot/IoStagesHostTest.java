package io.cowherd.agent.boot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.export.AtaIoWatch;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.agent.metrics.SlotIoMetrics;
import io.cowherd.agent.slot.SlotEventRecorder;
import io.cowherd.agent.support.HostTools;
import io.cowherd.agent.support.TestSegment;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.InitiatorOptions;
import io.cowherd.api.MacAddress;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.File;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boot stages and per-slot I/O from the wire, on a test-made segment ({@link TestSegment}): a real
 * vblade exports a file on the agent's interface; cowherd's initiator in a client namespace reads,
 * then writes, then stops; a second host (not bound to the slot) reads too. The watch attributes
 * the client's requests and bytes to the slot and its MAC (not the other host's), the client goes
 * Reading → Writing → Silent with one status change each although thousands of requests flowed,
 * with an Event each, and the metrics show it.
 */
@Tag("host")
class IoStagesHostTest {
  private static final AoeTarget TARGET = new AoeTarget(41, 3);
  private static final int IMAGE_BYTES = 8 << 20;
  private static final int READ_BYTES = 4 << 20;
  private static final int WRITE_BYTES = 1 << 20;
  private static final int CALL_BYTES = 64 << 10;

  @TempDir Path tmp;

  @Test
  void readsThenWritesThenSilenceAreReadingWritingSilentWithOneStatusChangeEach() throws Exception {
    HostTools.requireRoot();
    Vblade vblade = HostTools.requireVblade();
    Path image = tmp.resolve("disk.img");
    Files.write(image, new byte[IMAGE_BYTES]);
    ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor();
    Process exporter = null;
    try (TestSegment segment = TestSegment.create()) {
      String clientNs = segment.addHost();
      String otherNs = segment.addHost();
      MacAddress clientMac = MacAddress.parse(segment.hostMac(0).toString()).orElseThrow();
      exporter = new ProcessBuilder(vblade.argv(new VbladeTarget(TARGET.shelf(), TARGET.slot(), segment.agentIface(),
          image))).redirectInput(Redirect.from(new File("/dev/null"))).redirectOutput(Redirect.DISCARD)
          .redirectError(Redirect.DISCARD).start();
      AoeBootSlot slot = aSlot().namespace("lab").pool("pxe").shelf(TARGET.shelf()).slot(TARGET.slot())
          .iface(segment.agentIface()).build();
      slot.getSpec().setAllowedMacs(List.of(clientMac.value()));
      List<BootStages.Change> statusChanges = new CopyOnWriteArrayList<>();
      List<String> events = new CopyOnWriteArrayList<>();
      List<MacAddress> statusMacs = new CopyOnWriteArrayList<>();
      SlotEventRecorder recorder = (s, type, reason, message) -> events.add(reason + ": " + message);
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      AtaIoWatch watch = new AtaIoWatch(AtaIoWatch::ring, Clock.systemUTC());
      try (IoStageReporter reporter = new IoStageReporter(watch, () -> Stream.of(slot), Duration.ofSeconds(3),
          Optional.of(new SlotIoMetrics(registry, watch)), recorder, (mac, change) -> {
            statusMacs.add(mac);
            statusChanges.add(change);
          }, mac -> Optional.empty(), Clock.systemUTC())) {
        List<String> slotStages = new java.util.concurrent.CopyOnWriteArrayList<>();
        reporter.onSlotStageChange(s -> slotStages.add(reporter.stageOf(s).orElse("none"))); // as the slot's reconcile reads it
        reporter.start(ticks);
        await().atMost(Duration.ofSeconds(5)).until(() -> watch.watching(segment.agentIface()));

        long retransmissions;
        try (AoeInitiator client = AoeInitiator.openInNamespace(clientNs, "aoe0", InitiatorOptions.defaults());
            AoeInitiator other = AoeInitiator.openInNamespace(otherNs, "aoe0", InitiatorOptions.defaults())) {
          await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(client.discover(Duration.ofMillis(200)))
              .extracting(d -> d.target()).contains(TARGET));
          client.discover(TARGET);
          other.discover(TARGET);
          for (int off = 0; off < READ_BYTES; off += CALL_BYTES) {
            client.read(TARGET, off / 512, CALL_BYTES / 512);
          }
          other.read(TARGET, 0, 128); // not the slot's client: not counted
          await().atMost(Duration.ofSeconds(10)).until(() -> stages(statusChanges).contains(BootStages.Stage.Reading));
          byte[] chunk = new byte[CALL_BYTES];
          for (int off = 0; off < WRITE_BYTES; off += CALL_BYTES) {
            client.write(TARGET, off / 512, chunk);
          }
          retransmissions = client.retransmissionCount();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> stages(statusChanges).contains(BootStages.Stage.Writing));
        await().atMost(Duration.ofSeconds(15)).until(() -> stages(statusChanges).contains(BootStages.Stage.Silent));

        assertThat(stages(statusChanges)).as("one status change per stage, none per request")
            .containsExactly(BootStages.Stage.Reading, BootStages.Stage.Writing, BootStages.Stage.Silent);
        assertThat(statusMacs).containsOnly(clientMac);
        assertThat(slotStages).as("the slot's STAGE column (status.clientStage) after each change")
            .containsExactly("Reading", "Writing", "Silent");
        AtaIoWatch.SlotIo io = watch.slot(segment.agentIface(), TARGET.shelf(), TARGET.slot()).orElseThrow();
        long slack = retransmissions * 2 * 512; // a retransmitted request is seen twice (2 sectors per 1500-byte frame)
        assertThat(io.readBytes()).as("bytes the client asked to read").isBetween((long) READ_BYTES, READ_BYTES + slack);
        assertThat(io.writeBytes()).as("bytes the client wrote").isBetween((long) WRITE_BYTES, WRITE_BYTES + slack);
        assertThat(io.readRequests()).as("one request per 1500-byte frame (2 sectors)")
            .isBetween(READ_BYTES / 1024L, READ_BYTES / 1024L + retransmissions);
        assertThat(io.clients()).singleElement().satisfies(c -> {
          assertThat(c.mac()).isEqualTo(segment.hostMac(0).value());
          assertThat(c.lastWriteMillis()).isGreaterThanOrEqualTo(c.lastReadMillis());
        });
        BootStages.Change silent = statusChanges.get(2);
        assertThat(silent.lastRead()).isNotNull();
        assertThat(silent.lastWrite()).isAfterOrEqualTo(silent.lastRead());
        assertThat(events).extracting(e -> e.substring(0, e.indexOf(':')))
            .containsExactly("ClientReading", "ClientWriting", "ClientSilent");

        String text = registry.scrape();
        String labels = "namespace=\"lab\",op=\"read\",pool=\"pxe\",slot=\"3\",target=\"\"";
        assertThat(text).contains("cowherd_slot_io_bytes_total{" + labels + "} " + (double) io.readBytes());
        assertThat(text).contains("cowherd_slot_io_requests_total{namespace=\"lab\",op=\"write\",pool=\"pxe\",slot=\"3\","
            + "target=\"\"} " + (double) io.writeRequests());
        assertThat(text).contains("cowherd_slot_boot_stage{namespace=\"lab\",pool=\"pxe\",slot=\"3\",stage=\"Silent\","
            + "target=\"\"} 1.0");
        assertThat(text).contains("cowherd_slot_boot_stage{namespace=\"lab\",pool=\"pxe\",slot=\"3\",stage=\"Writing\","
            + "target=\"\"} 0.0");
        assertThat(text).containsPattern("cowherd_slot_last_io_timestamp_seconds\\{namespace=\"lab\",pool=\"pxe\","
            + "slot=\"3\",target=\"\"} 1\\.[0-9]+E9");
        assertThat(text).contains("cowherd_agent_io_watch_dropped_frames_total{interface=\"" + segment.agentIface()
            + "\"} 0.0");
      }
    } finally {
      ticks.shutdownNow();
      if (exporter != null) {
        exporter.destroyForcibly().waitFor();
      }
    }
  }

  private static List<BootStages.Stage> stages(List<BootStages.Change> changes) {
    return changes.stream().map(BootStages.Change::stage).toList();
  }
}
