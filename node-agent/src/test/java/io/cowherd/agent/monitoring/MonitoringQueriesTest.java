package io.cowherd.agent.monitoring;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.marcnuri.helm.Helm;
import io.cowherd.agent.export.AtaIoWatch;
import io.cowherd.agent.export.ControlFrameWatch;
import io.cowherd.agent.export.IngressGuard;
import io.cowherd.agent.export.IngressGuardTest;
import io.cowherd.agent.host.FakeCommandRunner;
import io.cowherd.agent.host.Nft;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.inventory.StateDirSpace;
import io.cowherd.agent.inventory.StateDirWatch;
import io.cowherd.agent.metrics.AgentTelemetry;
import io.cowherd.agent.metrics.SlotIoMetrics;
import io.cowherd.agent.slot.UnclaimedStateReporter;
import io.cowherd.agent.support.Segments;
import io.cowherd.agent.support.Slots;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.SlotOrigin;
import io.cowherd.operator.Main;
import io.cowherd.operator.metrics.CowherdMetrics;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every metric name in the chart's Grafana dashboard (panel queries and variable queries) and in its
 * PrometheusRule (alert expressions) is one the code exports: the names are scraped from the node
 * agent's and the operator's real registries, built by the classes {@code Main} builds them with
 * ({@link AgentTelemetry}, {@link UnclaimedStateReporter}, {@link SlotIoMetrics}, {@link
 * Main#newMeterRegistry()}, {@link CowherdMetrics}), fed one served slot and one guarded interface so that every per-slot and
 * per-interface series exists. Prometheus' own {@code up} is the only name allowed beyond them.
 */
class MonitoringQueriesTest {
  private static final Path CHART = Path.of("../helm/cowherd");
  private static final List<String> NFT_LIST = List.of("nft", "-j", "list", "table", "netdev", "cowherd_eth1");
  /** Synthesised by Prometheus for every target. */
  private static final Set<String> PROMETHEUS_NAMES = Set.of("up");
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void everyDashboardAndAlertQueryReadsOnlyExportedMetrics(@TempDir Path stateDir) throws Exception {
    Map<String, String> queries = renderedQueries();
    Set<String> exported = new TreeSet<>(PROMETHEUS_NAMES);
    exported.addAll(names(agentScrape(stateDir)));
    exported.addAll(names(operatorScrape()));

    Map<String, Set<String>> unknown = new LinkedHashMap<>();
    Set<String> used = new TreeSet<>();
    queries.forEach((where, query) -> {
      Set<String> names = where.startsWith("dashboard variable") ? PromQlNames.ofVariableQuery(query) : PromQlNames.of(query);
      assertThat(names).as("metric names in %s: %s", where, query).isNotEmpty();
      used.addAll(names);
      for (String name : names) {
        if (!exported.contains(name)) {
          unknown.computeIfAbsent(name, k -> new TreeSet<>()).add(where);
        }
      }
    });

    assertThat(queries).as("queries found in the rendered chart").hasSizeGreaterThan(30);
    assertThat(unknown).as("metric names used by the dashboard or alerts that neither the agent nor the operator"
        + " exports (name -> where used); exported: %s", exported).isEmpty();
    assertThat(used).contains("cowherd_slots", "cowherd_slot_cow_used_sectors", "cowherd_state_dir_warning_level",
        "cowherd_guard_dropped_frames_total", "cowherd_slot_io_bytes_total", "cowherd_slot_boot_stage", "up");
  }

  /** Queries of the dashboard ConfigMap and the PrometheusRule, both switched on, by where they are used. */
  private static Map<String, String> renderedQueries() throws Exception {
    String yaml = new Helm(CHART).template().withName("lab").withNamespace("cowherd-system").withKubeVersion("1.34.2")
        .set("metrics.serviceMonitor.enabled", "true")
        .set("metrics.grafanaDashboard.enabled", "true")
        .set("metrics.prometheusRule.enabled", "true")
        .call();
    KubernetesSerialization serialization = new KubernetesSerialization();
    List<HasMetadata> objects = new ArrayList<>();
    for (String doc : yaml.split("(?m)^---\\s*$")) {
      if (doc.lines().anyMatch(line -> !line.isBlank() && !line.startsWith("#"))) {
        objects.add(serialization.unmarshal(doc));
      }
    }
    Map<String, String> queries = new LinkedHashMap<>();
    ConfigMap dashboard = objects.stream().filter(ConfigMap.class::isInstance).map(ConfigMap.class::cast)
        .filter(c -> c.getData() != null && c.getData().containsKey("cowherd.json")).findFirst().orElseThrow();
    JsonNode json = JSON.readTree(dashboard.getData().get("cowherd.json"));
    for (JsonNode panel : json.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        queries.put("dashboard panel \"" + panel.path("title").asText() + "\" " + target.path("refId").asText(),
            target.path("expr").asText());
      }
    }
    for (JsonNode variable : json.path("templating").path("list")) {
      if ("query".equals(variable.path("type").asText())) {
        queries.put("dashboard variable " + variable.path("name").asText(),
            variable.path("query").path("query").asText());
      }
    }
    GenericKubernetesResource rule = objects.stream().filter(GenericKubernetesResource.class::isInstance)
        .map(GenericKubernetesResource.class::cast).filter(o -> "PrometheusRule".equals(o.getKind()))
        .findFirst().orElseThrow();
    JsonNode spec = JSON.valueToTree(rule.getAdditionalProperties().get("spec"));
    for (JsonNode group : spec.path("groups")) {
      for (JsonNode r : group.path("rules")) {
        queries.put("alert " + r.path("alert").asText(), r.path("expr").asText());
      }
    }
    return queries;
  }

  /** What the agent's {@code /metrics} answers with one served slot and one guarded interface. */
  private static String agentScrape(Path stateDir) {
    AgentTelemetry telemetry = new AgentTelemetry();
    StateDirWatch stateDirWatch = new StateDirWatch(new StateDirSpace(stateDir), () -> {});
    stateDirWatch.look();
    telemetry.stateDir(stateDirWatch);
    // Registers its two gauges in the constructor; the collaborators are only used by scan().
    new UnclaimedStateReporter(null, null, Stream::empty, namespace -> true, null, "node-a", Clock.systemUTC(),
        telemetry.registry());
    SlotId id = new SlotId("lab", "debian", 0);
    IngressGuard guard = new IngressGuard(new Nft(new FakeCommandRunner().on(NFT_LIST, IngressGuardTest.table(3, 1, 0)),
        "nft"), Clock.systemUTC(), changed -> {}, Optional.empty());
    guard.ensure(id, "eth1");
    guard.poll();
    ControlFrameWatch frames = Segments.silentWatch(null);
    try (AtaIoWatch io = new AtaIoWatch(iface -> {
      throw new IOException("no interface in a unit test");
    }, Clock.systemUTC())) {
      frames.watch(id, "eth1");
      // The I/O watch's series, registered as Main registers them (SlotIoMetrics on the same registry).
      io.update(List.of(new AtaIoWatch.Exported("eth1", 7, 0, Set.of())));
      new SlotIoMetrics(telemetry.registry(), io).update(Map.of(
          Tags.of("namespace", "lab", "pool", "debian", "slot", "0", "target", "e7.0"),
          new SlotIoMetrics.Source(() -> io.slot("eth1", 7, 0), () -> Optional.of("Reading"))));
      return telemetry.scraper(() -> Stream.of(servedSlot()), guard, frames).get();
    } finally {
      frames.close();
    }
  }

  /** What the operator's {@code /metrics} answers (its own gauges over empty caches, one reconcile error). */
  private static String operatorScrape() {
    PrometheusMeterRegistry registry = Main.newMeterRegistry();
    CowherdMetrics metrics = new CowherdMetrics(registry);
    metrics.observe(Stream::empty, Stream::empty, () -> true);
    metrics.reconcileError("aoebootpool", "InvalidSpec");
    return registry.scrape();
  }

  private static AoeBootSlot servedSlot() {
    AoeBootSlot slot = Slots.aSlot().slot(0).build();
    AoeBootSlotStatus status = new AoeBootSlotStatus();
    status.setTarget("e7.0");
    status.setCowUsedSectors(128L);
    status.setCowTotalSectors(2_097_152L);
    status.setRestarts(1);
    SlotOrigin origin = new SlotOrigin();
    origin.setChanged(false);
    origin.setStale(false);
    status.setOrigin(origin);
    slot.setStatus(status);
    return slot;
  }

  /** Series names of a Prometheus text exposition (one per sample line). */
  static Set<String> names(String exposition) {
    Set<String> names = new TreeSet<>();
    exposition.lines().filter(l -> !l.isBlank() && !l.startsWith("#")).forEach(l -> {
      int end = 0;
      while (end < l.length() && l.charAt(end) != '{' && l.charAt(end) != ' ') {
        end++;
      }
      names.add(l.substring(0, end));
    });
    return names;
  }
}
