package io.cowherd.operator.chart;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import io.cowherd.operator.support.Charts;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart's Grafana dashboard ConfigMap and PrometheusRule ({@code metrics.grafanaDashboard},
 * {@code metrics.prometheusRule}): off by default, well-formed when on, and wired to the names the
 * rest of the chart renders (Services, hence scrape jobs). That every query reads only exported
 * metric names is MonitoringQueriesTest's (node-agent module).
 */
class ChartMonitoringTest {
  private static final String NS = "cowherd-system";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final UnaryOperator<TemplateCommand> BOTH_ON = t -> t.set("metrics.serviceMonitor.enabled", "true")
      .set("metrics.grafanaDashboard.enabled", "true").set("metrics.prometheusRule.enabled", "true");

  @Test
  void neitherIsRenderedByDefaultNorWithMetricsOff() {
    assertThat(Charts.names(Charts.template("cowherd", NS, t -> t)))
        .noneMatch(n -> n.startsWith("ConfigMap/") || n.startsWith("PrometheusRule/"));
    assertThat(Charts.names(Charts.template("cowherd", NS, t -> BOTH_ON.apply(t).set("metrics.enabled", "false"))))
        .noneMatch(n -> n.startsWith("ConfigMap/") || n.startsWith("PrometheusRule/"));
  }

  @Test
  void lintPassesWithBothOn(@TempDir Path dir) throws IOException {
    Path chart = Charts.copyChart(dir);
    Files.writeString(chart.resolve("values.yaml"), Files.readString(chart.resolve("values.yaml"))
        .replace("  grafanaDashboard:\n    enabled: false", "  grafanaDashboard:\n    enabled: true")
        .replace("  prometheusRule:\n    enabled: false", "  prometheusRule:\n    enabled: true"));

    LintResult result = new Helm(chart).lint().strict().call();

    assertThat(Files.readString(chart.resolve("values.yaml"))).contains("grafanaDashboard:\n    enabled: true",
        "prometheusRule:\n    enabled: true");
    assertThat(result.isFailed()).as("helm lint --strict with both on: %s", result.getMessages()).isFalse();
  }

  @Test
  void dashboardConfigMapCarriesTheSidecarLabelAndTheChartsDashboardFile() throws IOException {
    List<HasMetadata> objects = Charts.template("cowherd", NS, BOTH_ON);

    ConfigMap cm = Charts.find(objects, ConfigMap.class, "cowherd-dashboard");
    assertThat(cm.getMetadata().getNamespace()).isEqualTo(NS);
    assertThat(cm.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
    JsonNode dashboard = JSON.readTree(cm.getData().get("cowherd.json"));
    assertThat(dashboard).isEqualTo(JSON.readTree(Charts.CHART.resolve("dashboards/cowherd.json").toFile()));
    assertThat(dashboard.path("uid").asText()).isEqualTo("cowherd-overview");
    Set<Integer> ids = new HashSet<>();
    List<String> titles = new ArrayList<>();
    for (JsonNode panel : dashboard.path("panels")) {
      assertThat(ids.add(panel.path("id").asInt())).as("panel id %s unique", panel.path("id")).isTrue();
      JsonNode pos = panel.path("gridPos");
      assertThat(pos.path("x").asInt() + pos.path("w").asInt()).as("panel %s fits 24 columns", panel.path("title"))
          .isLessThanOrEqualTo(24);
      if (!"row".equals(panel.path("type").asText())) {
        titles.add(panel.path("title").asText());
        assertThat(panel.path("datasource").path("uid").asText()).isEqualTo("${datasource}");
        assertThat(panel.path("targets")).as("targets of %s", panel.path("title")).isNotEmpty()
            .allSatisfy(t -> assertThat(t.path("expr").asText()).isNotBlank());
      }
    }
    assertThat(titles).contains("Clients by boot stage, per pool", "Read bytes/s per slot", "Write bytes/s per slot",
        "Last I/O age", "COW use per slot", "Exporter restarts (1 h)", "Origin changed / stale",
        "State dir use per node", "Guard drops/s");
  }

  @Test
  void dashboardLabelFolderAndNamespaceFollowTheValues() {
    List<HasMetadata> objects = Charts.template("lab", NS, t -> t.withValuesFile(Charts.ALL_VALUES)
        .set("metrics.grafanaDashboard.label", "example.com/dashboard").set("metrics.grafanaDashboard.labelValue", "yes"));

    ConfigMap cm = Charts.find(objects, ConfigMap.class, "lab-cowherd-dashboard");
    assertThat(cm.getMetadata().getNamespace()).isEqualTo("monitoring");
    assertThat(cm.getMetadata().getLabels()).containsEntry("example.com/dashboard", "yes").containsEntry("team", "storage")
        .doesNotContainKey("grafana_dashboard");
    assertThat(cm.getMetadata().getAnnotations()).containsEntry("grafana_folder", "Storage").containsEntry("note", "cowherd");
  }

  @Test
  void everyAlertHasASeverityASummaryADescriptionAndAValidFor() {
    List<Map<String, Object>> rules = rules(Charts.template("cowherd", NS, BOTH_ON), "cowherd");

    assertThat(rules).extracting(r -> r.get("alert")).doesNotHaveDuplicates().contains("CowherdSlotFailed",
        "CowherdClientSilent", "CowherdBootStuck", "CowherdCowStoreFilling", "CowherdAgentDown", "CowherdAgentsAbsent",
        "CowherdOriginChanged", "CowherdStateDirFilling", "CowherdExporterCrashLooping");
    assertThat(rules).allSatisfy(r -> {
      assertThat((String) r.get("expr")).as("expr of %s", r.get("alert")).isNotBlank().doesNotContain("{{");
      if (r.containsKey("for")) {
        assertThat((String) r.get("for")).matches("[0-9]+(ms|s|m|h|d|w|y)");
      }
      @SuppressWarnings("unchecked")
      Map<String, String> labels = (Map<String, String>) r.get("labels");
      assertThat(labels.get("severity")).as("severity of %s", r.get("alert")).isIn("critical", "warning", "info");
      @SuppressWarnings("unchecked")
      Map<String, String> annotations = (Map<String, String>) r.get("annotations");
      assertThat(annotations.get("summary")).as("summary of %s", r.get("alert")).isNotBlank();
      assertThat(annotations.get("description")).as("description of %s", r.get("alert")).isNotBlank()
          .doesNotContain("{{ .", "{{-"); // Helm's templating is resolved; only Prometheus' {{ $labels }} remain
    });
  }

  @Test
  void alertsNameTheScrapeJobsOfTheRenderedServicesAndTheValuesThresholds() {
    List<HasMetadata> objects = Charts.template("lab", NS, t -> t.withValuesFile(Charts.ALL_VALUES));
    List<Map<String, Object>> rules = rules(objects, "lab-cowherd");
    String agentService = Charts.find(objects, Service.class, "lab-cowherd-node-agent-metrics").getMetadata().getName();
    String operatorService = Charts.find(objects, Service.class, "lab-cowherd-operator-metrics").getMetadata().getName();

    assertThat(expr(rules, "CowherdAgentDown")).isEqualTo("up{job=\"" + agentService + "\", namespace=\"" + NS + "\"} == 0");
    assertThat(expr(rules, "CowherdAgentsAbsent")).contains("job=\"" + agentService + "\"");
    assertThat(expr(rules, "CowherdSlotFailed")).contains("job=\"" + operatorService + "\"", "phase=\"Failed\"");
    assertThat(expr(rules, "CowherdCowStoreFilling"))
        .isEqualTo("100 * cowherd_slot_cow_used_sectors / cowherd_slot_cow_total_sectors > 85");
    assertThat(rules).filteredOn(r -> "CowherdClientSilent".equals(r.get("alert"))).singleElement()
        .satisfies(r -> assertThat(r.get("for")).isEqualTo("45m"));
    assertThat(rules).allSatisfy(r -> assertThat(r.get("labels")).asInstanceOf(InstanceOfAssertFactories.MAP)
        .containsEntry("team", "storage"));
    GenericKubernetesResource rule = prometheusRule(objects, "lab-cowherd");
    assertThat(rule.getMetadata().getLabels()).containsEntry("release", "prometheus");
  }

  @Test
  void agentServiceMonitorKeepsTheSlotsNamespaceLabel() {
    List<HasMetadata> objects = Charts.template("cowherd", NS, BOTH_ON);

    assertThat(endpoint(objects, "cowherd-node-agent")).containsEntry("honorLabels", true);
    assertThat(endpoint(objects, "cowherd-operator")).doesNotContainKey("honorLabels");
  }

  private static GenericKubernetesResource prometheusRule(List<HasMetadata> objects, String name) {
    GenericKubernetesResource rule = objects.stream().filter(GenericKubernetesResource.class::isInstance)
        .map(GenericKubernetesResource.class::cast)
        .filter(o -> "PrometheusRule".equals(o.getKind()) && name.equals(o.getMetadata().getName()))
        .findFirst().orElseThrow(() -> new AssertionError("no PrometheusRule " + name + " in " + Charts.names(objects)));
    assertThat(rule.getApiVersion()).isEqualTo("monitoring.coreos.com/v1");
    assertThat(rule.getMetadata().getNamespace()).isEqualTo(NS);
    return rule;
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> rules(List<HasMetadata> objects, String name) {
    Map<String, Object> spec = (Map<String, Object>) prometheusRule(objects, name).getAdditionalProperties().get("spec");
    List<Map<String, Object>> rules = new ArrayList<>();
    for (Map<String, Object> group : (List<Map<String, Object>>) spec.get("groups")) {
      assertThat((String) group.get("name")).startsWith("cowherd.");
      rules.addAll((List<Map<String, Object>>) group.get("rules"));
    }
    return rules;
  }

  private static String expr(List<Map<String, Object>> rules, String alert) {
    return rules.stream().filter(r -> alert.equals(r.get("alert"))).map(r -> ((String) r.get("expr")).strip())
        .findFirst().orElseThrow();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> endpoint(List<HasMetadata> objects, String name) {
    GenericKubernetesResource monitor = objects.stream().filter(GenericKubernetesResource.class::isInstance)
        .map(GenericKubernetesResource.class::cast)
        .filter(o -> "ServiceMonitor".equals(o.getKind()) && name.equals(o.getMetadata().getName()))
        .findFirst().orElseThrow();
    Map<String, Object> spec = (Map<String, Object>) monitor.getAdditionalProperties().get("spec");
    return ((List<Map<String, Object>>) spec.get("endpoints")).getFirst();
  }
}
