package io.cowherd.operator.support;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/** The Helm chart {@code helm/cowherd} rendered with helm-java (offline), parsed into fabric8 objects. */
public final class Charts {
  /** The chart directory, relative to the operator module. */
  public static final Path CHART = Path.of("../helm/cowherd");
  /** Values file that sets every option to a non-default value. */
  public static final Path ALL_VALUES = CHART.resolve("ci/all-values.yaml");
  /** Values of the chart the API server tests install (registry, agent node selector, toleration, image root). */
  public static final Path TEST_VALUES = Path.of("src/test/resources/chart-install-values.yaml");
  /** Kubernetes version helm template renders for (helm-java defaults to 1.20, below the chart's kubeVersion). */
  public static final String KUBE_VERSION = ApiServerHarness.KUBE_VERSION;
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private Charts() {}

  /** {@code helm template <release> helm/cowherd -n <namespace>} with extra settings, as YAML. */
  public static String templateYaml(String release, String namespace, UnaryOperator<TemplateCommand> settings) {
    return settings.apply(new Helm(CHART).template().withName(release).withNamespace(namespace)
        .withKubeVersion(KUBE_VERSION)).call();
  }

  /** The rendered objects (kinds fabric8 does not know come back as GenericKubernetesResource). */
  public static List<HasMetadata> template(String release, String namespace, UnaryOperator<TemplateCommand> settings) {
    return parse(templateYaml(release, namespace, settings));
  }

  /** Splits multi-document YAML and parses each non-empty document. */
  public static List<HasMetadata> parse(String yaml) {
    List<HasMetadata> objects = new ArrayList<>();
    for (String doc : yaml.split("(?m)^---\\s*$")) {
      if (doc.lines().anyMatch(line -> !line.isBlank() && !line.startsWith("#"))) {
        objects.add(SERIALIZATION.unmarshal(doc));
      }
    }
    return objects;
  }

  /** The one object of {@code type} named {@code name}. */
  public static <T extends HasMetadata> T find(List<HasMetadata> objects, Class<T> type, String name) {
    return objects.stream().filter(type::isInstance).map(type::cast)
        .filter(o -> name.equals(o.getMetadata().getName()))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " " + name + " in " + names(objects)));
  }

  /** {@code Kind/name} of every object, in order. */
  public static List<String> names(List<HasMetadata> objects) {
    return objects.stream().map(o -> o.getKind() + "/" + o.getMetadata().getName()).toList();
  }

  /** The operator container's arguments from the rendered Deployment. */
  public static List<String> operatorArgs(List<HasMetadata> objects, String deployment) {
    return find(objects, Deployment.class, deployment).getSpec().getTemplate().getSpec().getContainers().getFirst().getArgs();
  }

  /** Copies the chart to {@code dir}/cowherd (to change it, or to lint it with other values). */
  public static Path copyChart(Path dir) throws IOException {
    Path target = dir.resolve("cowherd");
    try (Stream<Path> files = Files.walk(CHART)) {
      for (Path source : files.toList()) {
        Path dest = target.resolve(CHART.relativize(source).toString());
        if (Files.isDirectory(source)) {
          Files.createDirectories(dest);
        } else {
          Files.copy(source, dest);
        }
      }
    }
    return target;
  }

  /** Parses one YAML document into a map (for CRD comparison). */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> yamlMap(String yaml) {
    return SERIALIZATION.unmarshal(yaml, Map.class);
  }
}
