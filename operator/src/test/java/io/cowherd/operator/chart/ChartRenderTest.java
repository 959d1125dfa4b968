package io.cowherd.operator.chart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.cowherd.operator.config.OperatorCommand;
import io.cowherd.operator.config.OperatorConfig;
import io.cowherd.operator.support.Charts;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code helm lint} and {@code helm template} of {@code helm/cowherd} (helm-java, offline) with the
 * default values and with every option set ({@code ci/all-values.yaml}); the rendered operator
 * arguments must parse into the configuration the values say, the agent DaemonSet must carry every
 * host property the agent needs, the operator pod must fit Pod Security "restricted", and the RBAC
 * rules are pinned here so that every change to them is a deliberate one.
 */
class ChartRenderTest {
  private static final String NS = "cowherd-system";

  @Test
  void lintPassesWithDefaultValues() {
    LintResult result = new Helm(Charts.CHART).lint().strict().call();

    assertThat(result.isFailed()).as("helm lint --strict: %s", result.getMessages()).isFalse();
  }

  @Test
  void lintPassesWithEveryOptionSet(@TempDir Path dir) throws IOException {
    Path chart = Charts.copyChart(dir);
    Files.copy(Charts.ALL_VALUES, chart.resolve("values.yaml"), StandardCopyOption.REPLACE_EXISTING);

    LintResult result = new Helm(chart).lint().strict().call();

    assertThat(result.isFailed()).as("helm lint --strict with ci/all-values.yaml: %s", result.getMessages()).isFalse();
  }

  @ParameterizedTest(name = "{0}={1} is rejected")
  @CsvSource({
    "logging.format, xml",
    "logging.level, LOUD",
    "agent.stateDir, relative/dir",
    "agent.stateDir, /dev",
    "agent.imageRoots[0], /srv/../etc",
    "agent.stateDir, /host/sys/fs/cgroup",
    "agent.imageRoots[0], /host",
    "agent.stateDir, /opt/cowherd",
    "agent.stateDir, /opt",
    "agent.imageRoots[0], /opt/java/images",
    "agent.imageRoots[0], /usr/lib/images",
    "agent.stateDir, /lib/cowherd",
    "agent.stateDir, /etc",
    "apiServer.port, abc",
    "agent.httpPort, 70000",
    "image.pullPolicy, Sometimes",
    "operator.unknownKey, x",
    "frontDoor.dhcp.mode, off",
    "frontDoor.dhcp.interface, eth1;x",
    "frontDoor.dhcp.address, boot.example",
    "agent.exporterLinks.placement, bridge",
    "agent.exporterLinks.macPrefix, c077",
    "agent.exporterLinks.macPrefix, c0:7g",
    "agent.exporterLinks.macPrefix, 02:c0:77",
  })
  void templateRejectsValuesTheSchemaForbids(String key, String value) {
    assertThatThrownBy(() -> Charts.templateYaml("cowherd", NS, t -> t.set(key, value)))
        .hasMessageContaining("values don't meet the specifications of the schema");
  }

  @ParameterizedTest(name = "image root {0} with state dir {1} is refused")
  @CsvSource({
    "/var/lib/cowherd/images, /var/lib/cowherd",
    "/var/lib/cowherd, /var/lib/cowherd",
    "/var/lib, /var/lib/cowherd",
    "/srv/cowherd, /srv/cowherd/images/state",
  })
  void templateRefusesAnImageRootThatOverlapsTheStateDir(String imageRoot, String stateDir) {
    assertThatThrownBy(() -> Charts.templateYaml("cowherd", NS,
            t -> t.set("agent.imageRoots[0]", imageRoot).set("agent.stateDir", stateDir)))
        .hasMessageContaining("overlaps agent.stateDir");
  }

  @Test
  void siblingImageRootAndStateDirRender() {
    List<HasMetadata> objects = Charts.template("cowherd", NS,
        t -> t.set("agent.imageRoots[0]", "/srv/cowherd/images").set("agent.stateDir", "/srv/cowherd/state"));

    assertThat(Charts.names(objects)).contains("Deployment/cowherd-operator");
  }

  /** Only the image's own program and library paths are refused, not their neighbours. */
  @ParameterizedTest(name = "state dir {0} with image root {1} renders")
  @CsvSource({
    "/opt/cowherd-state, /opt/images",
    "/etc/cowherd, /usr/share/cowherd/images",
    "/var/lib/cowherd, /library/images",
  })
  void pathsBesideTheImagesProgramsRender(String stateDir, String imageRoot) {
    List<HasMetadata> objects = Charts.template("cowherd", NS,
        t -> t.set("agent.imageRoots[0]", imageRoot).set("agent.stateDir", stateDir));

    assertThat(Charts.names(objects)).contains("DaemonSet/cowherd-node-agent");
  }

  @Test
  void defaultValuesRenderTheseObjects() {
    List<HasMetadata> objects = Charts.template("cowherd", NS, t -> t);

    assertThat(Charts.names(objects)).containsExactlyInAnyOrder(
        "CustomResourceDefinition/aoebootpools.cowherd.io",
        "CustomResourceDefinition/aoebootslots.cowherd.io",
        "CustomResourceDefinition/aoebootclients.cowherd.io",
        "ServiceAccount/cowherd-operator",
        "ServiceAccount/cowherd-node-agent",
        "ClusterRole/cowherd-operator",
        "ClusterRoleBinding/cowherd-operator",
        "Role/cowherd-operator",
        "RoleBinding/cowherd-operator",
        "ClusterRole/cowherd-node-agent",
        "ClusterRoleBinding/cowherd-node-agent",
        "Deployment/cowherd-operator",
        "DaemonSet/cowherd-node-agent",
        "Service/cowherd-operator-metrics",
        "Service/cowherd-node-agent-metrics",
        "Role/cowherd-node-agent",
        "RoleBinding/cowherd-node-agent",
        "ValidatingAdmissionPolicy/cowherd-node-agent-slot-writes",
        "ValidatingAdmissionPolicyBinding/cowherd-node-agent-slot-writes",
        "ValidatingAdmissionPolicy/cowherd-operator-slot-spec",
        "ValidatingAdmissionPolicyBinding/cowherd-operator-slot-spec",
        "ValidatingAdmissionPolicy/cowherd-node-agent-lease-writes",
        "ValidatingAdmissionPolicyBinding/cowherd-node-agent-lease-writes",
        "ValidatingAdmissionPolicy/cowherd-node-agent-client-writes",
        "ValidatingAdmissionPolicyBinding/cowherd-node-agent-client-writes");
    assertThat(objects).filteredOn(o -> !o.getKind().startsWith("Cluster") && !o.getKind().equals("CustomResourceDefinition")
            && !o.getKind().startsWith("ValidatingAdmissionPolicy"))
        .allSatisfy(o -> assertThat(o.getMetadata().getNamespace()).isEqualTo(NS));
  }

  @Test
  void defaultArgumentsParseIntoTheConfigurationTheValuesSay() {
    List<HasMetadata> objects = Charts.template("cowherd", NS, t -> t);

    OperatorConfig config = parse(Charts.operatorArgs(objects, "cowherd-operator"));

    assertThat(config.watchesAllNamespaces()).isTrue();
    assertThat(config.logLevel()).isEqualTo("INFO");
    assertThat(config.logFormat()).isEqualTo("text");
    assertThat(config.leaderElection()).isTrue();
    assertThat(config.leaseName()).isEqualTo("cowherd-operator");
    assertThat(config.httpPort()).hasValue(8080);
    assertThat(config.metrics()).isTrue();
    assertThat(Charts.operatorArgs(objects, "cowherd-operator")).noneMatch(a -> a.startsWith("--agent-"));
  }

  /**
   * Every property the operator-built DaemonSet had (io.cowherd.operator.agent.AgentDaemonSets
   * before the chart took it over), plus the host PID namespace and cgroup tree the exporters need
   * to outlive the agent pod.
   */
  @Test
  void defaultAgentDaemonSetCarriesEveryHostPropertyTheAgentNeeds() {
    List<HasMetadata> objects = Charts.template("cowherd", NS, t -> t);

    DaemonSet ds = Charts.find(objects, DaemonSet.class, "cowherd-node-agent");
    PodSpec pod = ds.getSpec().getTemplate().getSpec();
    Container c = pod.getContainers().getFirst();

    assertThat(ds.getMetadata().getOwnerReferences()).as("owned by the release, not by the operator").isNullOrEmpty();
    assertThat(ds.getSpec().getUpdateStrategy().getType()).isEqualTo("RollingUpdate");
    assertThat(ds.getSpec().getUpdateStrategy().getRollingUpdate().getMaxUnavailable().getIntVal()).isEqualTo(1);
    assertThat(ds.getSpec().getSelector().getMatchLabels()).isEqualTo(Map.of("app.kubernetes.io/name", "cowherd-node-agent",
        "app.kubernetes.io/instance", "cowherd-node-agent", "app.kubernetes.io/component", "node-agent"));
    assertThat(ds.getSpec().getTemplate().getMetadata().getLabels()).containsAllEntriesOf(ds.getSpec().getSelector().getMatchLabels());
    assertThat(Charts.find(objects, Service.class, "cowherd-node-agent-metrics").getSpec().getSelector())
        .isEqualTo(ds.getSpec().getSelector().getMatchLabels());
    assertThat(pod.getServiceAccountName()).isEqualTo("cowherd-node-agent");
    assertThat(pod.getHostNetwork()).isTrue();
    assertThat(pod.getHostPID()).isTrue();
    assertThat(pod.getDnsPolicy()).isEqualTo("ClusterFirstWithHostNet");
    assertThat(pod.getPriorityClassName()).isEqualTo("system-node-critical");
    assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(30L);
    assertThat(pod.getNodeSelector()).isEqualTo(Map.of("kubernetes.io/os", "linux"));
    assertThat(pod.getTolerations()).singleElement().satisfies(t -> {
      assertThat(t.getKey()).isEqualTo("cowherd.io/boot-server");
      assertThat(t.getOperator()).isEqualTo("Exists");
      assertThat(t.getEffect()).isNull();
    });
    assertThat(c.getImage()).isEqualTo("cowherd-node-agent:" + appVersion());
    assertThat(c.getImagePullPolicy()).isEqualTo("IfNotPresent");
    assertThat(c.getArgs()).containsExactly("--state-dir=/var/lib/cowherd", "--image-root=/srv/cowherd/images",
        "--host-cgroup-root=/host/sys/fs/cgroup");
    assertThat(c.getSecurityContext().getPrivileged()).isTrue();
    assertThat(c.getSecurityContext().getRunAsUser()).isZero();
    assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
    assertThat(env(c)).containsEntry("COWHERD_LOG_LEVEL", "INFO").containsEntry("COWHERD_LOG_FORMAT", "text")
        .containsEntry("COWHERD_HTTP_PORT", "9810").containsEntry("DM_DISABLE_UDEV", "1")
        .containsEntry("COWHERD_EXPORTER_LINKS", "shared").containsEntry("COWHERD_EXPORTER_MAC_PREFIX", "c0:77")
        .doesNotContainKeys("JAVA_TOOL_OPTIONS", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT");
    assertThat(c.getEnv()).anySatisfy(e -> {
      assertThat(e.getName()).isEqualTo("NODE_NAME");
      assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("spec.nodeName");
    }).anySatisfy(e -> {
      assertThat(e.getName()).isEqualTo("POD_NAMESPACE");
      assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.namespace");
    });
    assertThat(c.getPorts()).singleElement().satisfies(p -> {
      assertThat(p.getName()).isEqualTo("http");
      assertThat(p.getContainerPort()).isEqualTo(9810);
    });
    assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
    assertThat(c.getLivenessProbe().getFailureThreshold()).isEqualTo(6);
    assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
    assertThat(c.getResources().getRequests()).containsEntry("memory", new Quantity("192Mi")).containsKey("cpu");
    assertThat(c.getResources().getLimits()).containsEntry("memory", new Quantity("384Mi"));

    Map<String, String> hostPaths = pod.getVolumes().stream().filter(v -> v.getHostPath() != null)
        .collect(Collectors.toMap(Volume::getName, v -> v.getHostPath().getPath() + " " + v.getHostPath().getType()));
    assertThat(hostPaths).isEqualTo(Map.of(
        "dev", "/dev Directory",
        "modules", "/lib/modules Directory",
        "cgroup", "/sys/fs/cgroup Directory",
        "state", "/var/lib/cowherd DirectoryOrCreate",
        "image-root-0", "/srv/cowherd/images Directory"));
    Map<String, VolumeMount> mounts = c.getVolumeMounts().stream().collect(Collectors.toMap(VolumeMount::getName, m -> m));
    assertThat(mounts.get("dev").getMountPath()).isEqualTo("/dev");
    assertThat(mounts.get("dev").getMountPropagation()).isEqualTo("HostToContainer");
    assertThat(mounts.get("modules").getReadOnly()).isTrue();
    assertThat(mounts.get("cgroup").getMountPath()).isEqualTo("/host/sys/fs/cgroup");
    assertThat(mounts.get("cgroup").getReadOnly()).as("the agent creates the exporters' cgroups").isNotEqualTo(Boolean.TRUE);
    assertThat(mounts.get("state").getMountPath()).isEqualTo("/var/lib/cowherd");
    assertThat(mounts.get("state").getReadOnly()).isNotEqualTo(Boolean.TRUE);
    assertThat(mounts.get("image-root-0").getMountPath()).isEqualTo("/srv/cowherd/images");
    assertThat(mounts.get("image-root-0").getReadOnly()).isTrue();
    assertThat(mounts.get("image-root-0").getMountPropagation()).isEqualTo("HostToContainer");
    assertThat(mounts.get("tmp").getMountPath()).isEqualTo("/tmp");
    assertThat(mounts.get("run").getMountPath()).isEqualTo("/run");
  }

  @Test
  void everyOptionRendersAndParsesIntoTheConfigurationTheValuesSay() {
    List<HasMetadata> objects = Charts.template("lab", NS, t -> t.withValuesFile(Charts.ALL_VALUES));

    Deployment deployment = Charts.find(objects, Deployment.class, "lab-cowherd-operator");
    OperatorConfig config = parse(deployment.getSpec().getTemplate().getSpec().getContainers().getFirst().getArgs());

    assertThat(deployment.getSpec().getReplicas()).isEqualTo(2);
    assertThat(deployment.getSpec().getTemplate().getSpec().getContainers().getFirst().getImage())
        .isEqualTo("registry.example.com/cowherd/tools/cowherd-operator:1.2.3-operator");
    assertThat(deployment.getSpec().getTemplate().getSpec().getImagePullSecrets())
        .extracting(r -> r.getName()).containsExactly("regcred", "backup-regcred");
    assertThat(deployment.getSpec().getTemplate().getSpec().getPriorityClassName()).isEqualTo("system-cluster-critical");
    assertThat(deployment.getSpec().getTemplate().getSpec().getHostNetwork()).isTrue();
    assertThat(config.namespaces()).containsExactlyInAnyOrder("lab", "classroom");
    assertThat(config.logLevel()).isEqualTo("DEBUG");
    assertThat(config.logFormat()).isEqualTo("json");
    assertThat(config.httpPort()).hasValue(8181);
    assertThat(config.leaseName()).isEqualTo("lab-cowherd-operator");

    DaemonSet ds = Charts.find(objects, DaemonSet.class, "lab-cowherd-node-agent");
    PodSpec pod = ds.getSpec().getTemplate().getSpec();
    Container agent = pod.getContainers().getFirst();
    assertThat(agent.getImage()).isEqualTo("registry.example.com/cowherd/tools/cowherd-node-agent:1.2.3-agent");
    assertThat(agent.getImagePullPolicy()).isEqualTo("Always");
    assertThat(pod.getImagePullSecrets()).extracting(r -> r.getName()).containsExactly("regcred", "backup-regcred");
    assertThat(pod.getServiceAccountName()).isEqualTo("lab-cowherd-node-agent");
    assertThat(pod.getNodeSelector()).isEqualTo(Map.of("kubernetes.io/os", "linux", "cowherd.io/boot-server", "true",
        "topology.kubernetes.io/zone", "lab-a"));
    assertThat(pod.getAffinity().getNodeAffinity()).isNotNull();
    assertThat(pod.getTolerations()).hasSize(2);
    assertThat(pod.getPriorityClassName()).isEqualTo("system-cluster-critical");
    assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(60L);
    assertThat(ds.getSpec().getTemplate().getMetadata().getLabels()).containsEntry("example.com/tier", "data");
    assertThat(ds.getSpec().getTemplate().getMetadata().getAnnotations()).containsEntry("example.com/team", "boot")
        .containsEntry("kubectl.kubernetes.io/default-container", "node-agent");
    assertThat(agent.getArgs()).containsExactly("--state-dir=/srv/cowherd/state", "--image-root=/srv/cowherd/images",
        "--image-root=/mnt/origins", "--namespace=lab", "--namespace=classroom", "--host-cgroup-root=/host/sys/fs/cgroup");
    assertThat(env(agent)).containsEntry("COWHERD_LOG_LEVEL", "DEBUG").containsEntry("COWHERD_LOG_FORMAT", "json")
        .containsEntry("COWHERD_HTTP_PORT", "9911").containsEntry("COWHERD_EXPORTER_LINKS", "macvlan")
        .containsEntry("COWHERD_EXPORTER_MAC_PREFIX", "c0:78");
    assertThat(agent.getPorts().getFirst().getContainerPort()).isEqualTo(9911);
    assertThat(agent.getResources().getLimits()).containsEntry("memory", new Quantity("1Gi"));
    assertThat(pod.getVolumes()).filteredOn(v -> v.getHostPath() != null).extracting(v -> v.getHostPath().getPath())
        .contains("/srv/cowherd/state", "/srv/cowherd/images", "/mnt/origins");
    assertThat(Charts.names(objects)).contains("ServiceMonitor/lab-cowherd-operator", "ServiceMonitor/lab-cowherd-node-agent");
  }

  /** Clusters without kube-proxy: both pods reach the API server at the address the values give. */
  @Test
  void apiServerAddressGoesIntoOperatorAndAgentPods() {
    List<HasMetadata> objects = Charts.template("cowherd", NS,
        t -> t.set("apiServer.host", "127.0.0.1").set("apiServer.port", "6443"));
    List<HasMetadata> defaultPort = Charts.template("cowherd", NS, t -> t.set("apiServer.host", "10.0.0.1"));

    for (Container c : List.of(operatorContainer(objects), agentContainer(objects))) {
      assertThat(env(c)).containsEntry("KUBERNETES_SERVICE_HOST", "127.0.0.1").containsEntry("KUBERNETES_SERVICE_PORT", "6443");
    }
    for (Container c : List.of(operatorContainer(defaultPort), agentContainer(defaultPort))) {
      assertThat(env(c)).containsEntry("KUBERNETES_SERVICE_HOST", "10.0.0.1").containsEntry("KUBERNETES_SERVICE_PORT", "443");
    }
    List<HasMetadata> unset = Charts.template("cowherd", NS, t -> t);
    assertThat(env(operatorContainer(unset))).doesNotContainKeys("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT");
  }

  @Test
  void theIoWatchIsOnByDefaultAndItsValuesReachTheAgent() {
    Container on = agentContainer(Charts.template("cowherd", NS, t -> t));
    Container off = agentContainer(Charts.template("cowherd", NS,
        t -> t.set("agent.ioWatch.enabled", "false").set("agent.ioWatch.silentAfterSeconds", "45")));

    assertThat(env(on)).containsEntry("COWHERD_SILENT_AFTER_SECONDS", "30").doesNotContainKey("COWHERD_NO_IO_WATCH");
    assertThat(env(off)).containsEntry("COWHERD_SILENT_AFTER_SECONDS", "45").containsEntry("COWHERD_NO_IO_WATCH", "true");
  }

  /** A values file's numbers are floats to Helm: a million must reach the agent as digits, not "1e+06". */
  @Test
  void aLargeSilentAfterFromAValuesFileReachesTheAgentAsAnInteger(@TempDir Path dir) throws IOException {
    Path values = Files.writeString(dir.resolve("values.yaml"), "agent:\n  ioWatch:\n    silentAfterSeconds: 1000000\n");
    Container agent = agentContainer(Charts.template("cowherd", NS, t -> t.withValuesFile(values)));

    assertThat(env(agent)).containsEntry("COWHERD_SILENT_AFTER_SECONDS", "1000000");
  }

  @ParameterizedTest(name = "image.pullPolicy={0} reaches both pods")
  @CsvSource({"Never", "IfNotPresent", "Always"})
  void pullPolicyForImagesWithoutARegistryReachesBothPods(String policy) {
    List<HasMetadata> objects = Charts.template("cowherd", NS, t -> t.set("image.pullPolicy", policy));

    assertThat(operatorContainer(objects).getImagePullPolicy()).isEqualTo(policy);
    assertThat(agentContainer(objects).getImagePullPolicy()).isEqualTo(policy);
  }

  @Test
  void operatorPodFitsPodSecurityRestricted() {
    for (Path values : List.of(Charts.CHART.resolve("values.yaml"), Charts.ALL_VALUES)) {
      // operator.hostNetwork (only for clusters whose pods cannot reach the API server) is the one exception.
      List<HasMetadata> objects = Charts.template("cowherd", NS,
          t -> t.withValuesFile(values).set("operator.hostNetwork", "false"));
      Deployment deployment = objects.stream().filter(Deployment.class::isInstance).map(Deployment.class::cast)
          .findFirst().orElseThrow();
      PodSpec pod = deployment.getSpec().getTemplate().getSpec();

      assertThat(pod.getHostNetwork()).isNotEqualTo(Boolean.TRUE);
      assertThat(pod.getHostPID()).isNotEqualTo(Boolean.TRUE);
      assertThat(pod.getHostIPC()).isNotEqualTo(Boolean.TRUE);
      assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
      assertThat(pod.getSecurityContext().getRunAsUser()).isPositive();
      assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
      assertThat(pod.getVolumes()).allSatisfy(v -> assertThat(v.getEmptyDir()).isNotNull());
      for (Container c : pod.getContainers()) {
        assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(c.getSecurityContext().getPrivileged()).isNotEqualTo(Boolean.TRUE);
        assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(c.getSecurityContext().getCapabilities().getAdd()).isNullOrEmpty();
        assertThat(c.getPorts()).allSatisfy(p -> assertThat(p.getHostPort()).isNull());
        assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
        assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
      }
    }
  }

  @Test
  void rbacGrantsExactlyTheseRules() {
    List<HasMetadata> objects = Charts.template("cowherd", NS, t -> t);

    assertThat(rules(Charts.find(objects, ClusterRole.class, "cowherd-operator").getRules())).containsExactly(
        "cowherd.io aoebootpools [get, list, watch, patch]",
        "cowherd.io aoebootpools/status [patch]",
        "cowherd.io aoebootpools/finalizers [update]",
        "cowherd.io aoebootslots [get, list, watch, create, patch, delete]",
        "cowherd.io aoebootslots/status [patch]",
        "cowherd.io aoebootclients [get, list, watch]",
        "cowherd.io aoebootclients/status [update]",
        "core nodes [get, list, watch]",
        "core events [create]");
    assertThat(rules(Charts.find(objects, Role.class, "cowherd-operator").getRules())).containsExactly(
        "coordination.k8s.io leases [create]",
        "coordination.k8s.io leases named cowherd-operator [get, update, patch]",
        "coordination.k8s.io leases [list, watch]");
    assertThat(rules(Charts.find(objects, ClusterRole.class, "cowherd-node-agent").getRules())).containsExactly(
        "cowherd.io aoebootslots [get, list, watch, patch]",
        "cowherd.io aoebootslots/status [patch]",
        "cowherd.io aoebootpools [get, list, watch]",
        "cowherd.io aoebootclients [get, list, watch, create]",
        "cowherd.io aoebootclients/status [patch]",
        "core events [create]");
    assertThat(rules(Charts.find(objects, Role.class, "cowherd-node-agent").getRules())).containsExactly(
        "coordination.k8s.io leases [get, create, update]");
    assertThat(objects).filteredOn(o -> o.getKind().equals("ClusterRole") || o.getKind().equals("Role"))
        .hasSize(4);
  }

  @Test
  void renderedCrdsAreTheGeneratedOnesPlusHelmKeepPolicy() throws IOException {
    List<HasMetadata> objects = Charts.template("cowherd", NS, t -> t);

    for (Path generated : generatedCrds()) {
      Map<String, Object> expected = Charts.yamlMap(Files.readString(generated));
      @SuppressWarnings("unchecked")
      String name = (String) ((Map<String, Object>) expected.get("metadata")).get("name");
      CustomResourceDefinition rendered = Charts.find(objects, CustomResourceDefinition.class, name);

      assertThat(rendered.getMetadata().getAnnotations()).containsEntry("helm.sh/resource-policy", "keep");
      Map<String, Object> actual = Charts.yamlMap(Serialization.asYaml(rendered));
      Map<String, Object> actualMetadata = new HashMap<>(castMap(actual.get("metadata")));
      actualMetadata.remove("annotations");
      actualMetadata.remove("labels");
      actual.put("metadata", actualMetadata);
      assertThat(Serialization.asJson(actual)).isEqualTo(Serialization.asJson(Charts.yamlMap(Serialization.asYaml(
          Serialization.unmarshal(Files.readString(generated), CustomResourceDefinition.class)))));
    }
  }

  @Test
  void crdsCanBeLeftToTheUserOrDroppedOnUninstall() {
    assertThat(Charts.names(Charts.template("cowherd", NS, t -> t.set("crds.install", false))))
        .noneMatch(n -> n.startsWith("CustomResourceDefinition/"));
    assertThat(Charts.template("cowherd", NS, t -> t.set("crds.keep", false)))
        .filteredOn(CustomResourceDefinition.class::isInstance)
        .hasSize(3)
        .allSatisfy(crd -> assertThat(crd.getMetadata().getAnnotations()).doesNotContainKey("helm.sh/resource-policy"));
  }

  @Test
  void metricsOffRendersNoServiceAndTellsTheOperator() {
    List<HasMetadata> objects = Charts.template("cowherd", NS, t -> t.set("metrics.enabled", false));

    assertThat(Charts.names(objects)).noneMatch(n -> n.startsWith("Service/") || n.startsWith("ServiceMonitor/"));
    assertThat(parse(Charts.operatorArgs(objects, "cowherd-operator")).metrics()).isFalse();
  }

  @Test
  void chartAppVersionIsTheProjectVersion() throws IOException {
    String pom = Files.readString(Path.of("../pom.xml"));
    String projectVersion = pom.replaceFirst("(?s).*?</parent>|(?s)^.*?<artifactId>cowherd-parent</artifactId>\\s*<version>", "")
        .replaceFirst("(?s)</version>.*", "").trim();

    assertThat(appVersion()).isEqualTo(projectVersion);
  }

  @Test
  void readmeInstallCommandRendersWithTheValuesItSays(@TempDir Path dir) throws IOException {
    String readme = Files.readString(Path.of("../README.md"));
    String block = readme.substring(readme.indexOf("helm install cowherd ./helm/cowherd"));
    block = block.substring(0, block.indexOf("```")).replace("\\\n", " ");
    List<String> words = List.of(block.trim().split("\\s+"));
    assertThat(words.subList(0, 7)).containsExactly("helm", "install", "cowherd", "./helm/cowherd", "-n", "cowherd-system",
        "--create-namespace");
    Map<String, Object> strings = new HashMap<>();
    List<String[]> sets = new ArrayList<>();
    for (int i = 7; i < words.size(); i += 2) {
      String[] pair = shellUnquote(words.get(i + 1)).split("=", 2);
      switch (words.get(i)) {
        case "--set" -> sets.add(pair);
        case "--set-string" -> putPath(strings, pair[0], pair[1]);
        default -> throw new AssertionError("unexpected option in README: " + words.get(i));
      }
    }
    Path values = dir.resolve("readme-values.yaml");
    Files.writeString(values, Serialization.asYaml(strings));

    List<HasMetadata> objects = Charts.template("cowherd", NS, t -> {
      sets.forEach(p -> t.set(p[0], p[1]));
      return t.withValuesFile(values);
    });
    parse(Charts.operatorArgs(objects, "cowherd-operator"));
    Container agent = agentContainer(objects);
    PodSpec pod = Charts.find(objects, DaemonSet.class, "cowherd-node-agent").getSpec().getTemplate().getSpec();

    assertThat(pod.getNodeSelector()).containsEntry("cowherd.io/boot-server", "true");
    assertThat(agent.getArgs()).contains("--image-root=/srv/images");
    assertThat(agent.getImage()).isEqualTo("registry.example.com/cowherd/cowherd-node-agent:" + appVersion());
  }

  // --- helpers -------------------------------------------------------------------------------

  @Test
  void proxyDhcpModeHandsTheAgentItsInterfaceAndAddressAndNeedsTheBootPort() {
    Map<String, String> env = env(agentContainer(Charts.template("cowherd", NS, t -> t.set("agent.bootPort", "8067")
        .set("frontDoor.dhcp.mode", "proxy").set("frontDoor.dhcp.interface", "eth1")
        .set("frontDoor.dhcp.address", "192.0.2.10"))));
    assertThat(env).containsEntry("COWHERD_DHCP_MODE", "proxy").containsEntry("COWHERD_DHCP_INTERFACE", "eth1")
        .containsEntry("COWHERD_DHCP_ADDRESS", "192.0.2.10").containsEntry("COWHERD_BOOT_PORT", "8067");
    assertThat(env(agentContainer(Charts.template("cowherd", NS, t -> t)))).doesNotContainKey("COWHERD_DHCP_MODE");
    assertThatThrownBy(() -> Charts.templateYaml("cowherd", NS, t -> t.set("frontDoor.dhcp.mode", "proxy")
        .set("frontDoor.dhcp.interface", "eth1")))
        .hasMessageContaining("frontDoor.dhcp.mode proxy needs agent.bootPort");
  }

  private static Container operatorContainer(List<HasMetadata> objects) {
    return objects.stream().filter(Deployment.class::isInstance).map(Deployment.class::cast).findFirst().orElseThrow()
        .getSpec().getTemplate().getSpec().getContainers().getFirst();
  }

  private static Container agentContainer(List<HasMetadata> objects) {
    return objects.stream().filter(DaemonSet.class::isInstance).map(DaemonSet.class::cast).findFirst().orElseThrow()
        .getSpec().getTemplate().getSpec().getContainers().getFirst();
  }

  /** The container's plain (not downward API) environment variables. */
  private static Map<String, String> env(Container c) {
    return c.getEnv().stream().filter(e -> e.getValue() != null).collect(Collectors.toMap(EnvVar::getName, EnvVar::getValue));
  }

  /** What bash makes of a README word: quotes removed, {@code \\} and {@code \.} unescaped once. */
  private static String shellUnquote(String word) {
    return word.replace("'", "").replace("\\\\", "\\");
  }

  /** Puts {@code value} at a Helm {@code --set} path ({@code a.b\.c} = key {@code b.c} under {@code a}). */
  @SuppressWarnings("unchecked")
  private static void putPath(Map<String, Object> root, String path, Object value) {
    String[] keys = path.split("(?<!\\\\)\\.");
    Map<String, Object> map = root;
    for (int i = 0; i < keys.length - 1; i++) {
      map = (Map<String, Object>) map.computeIfAbsent(keys[i].replace("\\.", "."), k -> new HashMap<String, Object>());
    }
    map.put(keys[keys.length - 1].replace("\\.", "."), value);
  }

  private static OperatorConfig parse(List<String> args) {
    List<String> all = new ArrayList<>(args);
    all.add("--operator-namespace=" + NS);
    return OperatorCommand.parse(all.toArray(String[]::new)).orElseThrow();
  }

  private static List<String> rules(List<PolicyRule> rules) {
    return rules.stream().map(r -> (r.getApiGroups().getFirst().isEmpty() ? "core" : r.getApiGroups().getFirst()) + " "
        + String.join(",", r.getResources())
        + (r.getResourceNames() == null || r.getResourceNames().isEmpty() ? "" : " named " + String.join(",", r.getResourceNames()))
        + " " + r.getVerbs()).toList();
  }

  static String appVersion() {
    try {
      return Files.readAllLines(Charts.CHART.resolve("Chart.yaml")).stream()
          .filter(l -> l.startsWith("appVersion:"))
          .map(l -> l.substring("appVersion:".length()).trim().replace("\"", ""))
          .findFirst().orElseThrow();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static List<Path> generatedCrds() throws IOException {
    Path dir = Path.of("../crds/yaml");
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.toString().endsWith("-v1.yml")).sorted().toList();
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> castMap(Object o) {
    return (Map<String, Object>) o;
  }
}
