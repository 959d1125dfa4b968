package io.cowherd.operator.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.operator.config.AgentSettings;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class AgentDaemonSetsTest {
  private static final AgentSettings SETTINGS = new AgentSettings("registry.test/cowherd-node-agent:1.0", "IfNotPresent",
      List.of("regcred"), "cowherd-node-agent", "cowherd-node-agent", "cowherd-operator", "/var/lib/cowherd",
      List.of("/srv/images", "/mnt/origins"),
      "[{\"key\":\"cowherd.io/boot-server\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}]",
      "{\"requests\":{\"cpu\":\"50m\",\"memory\":\"192Mi\"},\"limits\":{\"memory\":\"512Mi\"}}",
      9810, "DEBUG", "json", "system-node-critical", 0);

  private final DaemonSet ds = AgentDaemonSets.desired(SETTINGS, "cowherd-system", Set.of("lab", "classroom"),
      Map.of("cowherd.io/boot-server", "true"));
  private final PodSpec pod = ds.getSpec().getTemplate().getSpec();
  private final Container container = pod.getContainers().getFirst();

  @Test
  void agentPodIsPrivilegedOnTheHostNetworkWithItsOwnServiceAccount() {
    assertThat(ds.getMetadata().getName()).isEqualTo("cowherd-node-agent");
    assertThat(ds.getMetadata().getNamespace()).isEqualTo("cowherd-system");
    assertThat(pod.getHostNetwork()).isTrue();
    assertThat(pod.getDnsPolicy()).isEqualTo("ClusterFirstWithHostNet");
    assertThat(pod.getHostPID()).isNull();
    assertThat(pod.getServiceAccountName()).isEqualTo("cowherd-node-agent");
    assertThat(container.getSecurityContext().getPrivileged()).isTrue();
    assertThat(container.getSecurityContext().getRunAsUser()).isZero();
    assertThat(container.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
    assertThat(pod.getPriorityClassName()).isEqualTo("system-node-critical");
    assertThat(pod.getImagePullSecrets()).extracting(r -> r.getName()).containsExactly("regcred");
  }

  @Test
  void hostDevStateDirAndImageRootsAreMountedAtTheirHostPathsWithOriginsReadOnly() {
    Map<String, Volume> volumes = pod.getVolumes().stream().collect(Collectors.toMap(Volume::getName, Function.identity()));
    Map<String, VolumeMount> mounts = container.getVolumeMounts().stream()
        .collect(Collectors.toMap(VolumeMount::getName, Function.identity()));

    assertThat(volumes.get("dev").getHostPath().getPath()).isEqualTo("/dev");
    assertThat(mounts.get("dev").getMountPath()).isEqualTo("/dev");
    assertThat(mounts.get("dev").getMountPropagation()).isEqualTo("HostToContainer");
    assertThat(volumes.get("state").getHostPath().getPath()).isEqualTo("/var/lib/cowherd");
    assertThat(volumes.get("state").getHostPath().getType()).isEqualTo("DirectoryOrCreate");
    assertThat(mounts.get("state").getMountPath()).isEqualTo("/var/lib/cowherd");
    assertThat(mounts.get("state").getReadOnly()).isNull();
    for (int i = 0; i < 2; i++) {
      String root = SETTINGS.imageRoots().get(i);
      assertThat(volumes.get("image-root-" + i).getHostPath().getPath()).isEqualTo(root);
      assertThat(volumes.get("image-root-" + i).getHostPath().getType()).isEqualTo("Directory");
      assertThat(mounts.get("image-root-" + i).getMountPath()).isEqualTo(root);
      assertThat(mounts.get("image-root-" + i).getReadOnly()).isTrue();
    }
    assertThat(mounts.get("modules").getReadOnly()).isTrue();
    assertThat(volumes.get("tmp").getEmptyDir()).isNotNull();
  }

  @Test
  void argumentsAndEnvironmentConfigureTheAgent() {
    assertThat(container.getArgs()).containsExactly("--state-dir=/var/lib/cowherd", "--image-root=/srv/images",
        "--image-root=/mnt/origins", "--namespace=classroom", "--namespace=lab");
    Map<String, String> env = container.getEnv().stream().filter(e -> e.getValue() != null)
        .collect(Collectors.toMap(e -> e.getName(), e -> e.getValue()));
    assertThat(env).containsEntry("COWHERD_LOG_LEVEL", "DEBUG").containsEntry("COWHERD_LOG_FORMAT", "json")
        .containsEntry("COWHERD_HTTP_PORT", "9810").containsEntry("DM_DISABLE_UDEV", "1");
    assertThat(container.getEnv()).anySatisfy(e -> {
      assertThat(e.getName()).isEqualTo("NODE_NAME");
      assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("spec.nodeName");
    });
  }

  @Test
  void probesResourcesAndSchedulingComeFromTheSettings() {
    assertThat(container.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
    assertThat(container.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
    assertThat(container.getPorts()).singleElement().satisfies(p -> assertThat(p.getContainerPort()).isEqualTo(9810));
    assertThat(container.getResources().getRequests()).containsEntry("cpu", new Quantity("50m"))
        .containsEntry("memory", new Quantity("192Mi"));
    assertThat(container.getResources().getLimits()).containsEntry("memory", new Quantity("512Mi"));
    assertThat(pod.getNodeSelector()).isEqualTo(Map.of("cowherd.io/boot-server", "true", "kubernetes.io/os", "linux"));
    assertThat(pod.getTolerations()).singleElement().satisfies(t -> {
      assertThat(t.getKey()).isEqualTo("cowherd.io/boot-server");
      assertThat(t.getEffect()).isEqualTo("NoSchedule");
    });
  }

  @Test
  void selectorIsThePodLabelsAndAnotherImageChangesOnlyTheImage() {
    assertThat(ds.getSpec().getSelector().getMatchLabels()).isEqualTo(SETTINGS.podLabels());
    assertThat(ds.getSpec().getTemplate().getMetadata().getLabels()).isEqualTo(SETTINGS.podLabels());

    DaemonSet other = AgentDaemonSets.desired(SETTINGS.withImage("registry.test/cowherd-node-agent:2.0"), "cowherd-system",
        Set.of("lab", "classroom"), Map.of("cowherd.io/boot-server", "true"));

    assertThat(other.getSpec().getTemplate().getSpec().getContainers().getFirst().getImage())
        .isEqualTo("registry.test/cowherd-node-agent:2.0");
    other.getSpec().getTemplate().getSpec().getContainers().getFirst().setImage(container.getImage());
    assertThat(other).isEqualTo(ds);
  }

  @Test
  void aBootPortIsPassedToTheAgentAndOpenedAsAContainerPort() {
    AgentSettings withBoot = new AgentSettings(SETTINGS.image(), SETTINGS.imagePullPolicy(), SETTINGS.imagePullSecrets(),
        SETTINGS.daemonSetName(), SETTINGS.serviceAccountName(), SETTINGS.ownerDeployment(), SETTINGS.stateDir(),
        SETTINGS.imageRoots(), SETTINGS.tolerations(), SETTINGS.resources(), SETTINGS.httpPort(), SETTINGS.logLevel(),
        SETTINGS.logFormat(), SETTINGS.priorityClassName(), 8067);
    var container = AgentDaemonSets.desired(withBoot, "cowherd-system", java.util.Set.of(), java.util.Map.of())
        .getSpec().getTemplate().getSpec().getContainers().getFirst();
    org.assertj.core.api.Assertions.assertThat(container.getEnv())
        .anySatisfy(e -> org.assertj.core.api.Assertions.assertThat(e.getName() + "=" + e.getValue())
            .isEqualTo("COWHERD_BOOT_PORT=8067"));
    org.assertj.core.api.Assertions.assertThat(container.getPorts())
        .anySatisfy(p -> org.assertj.core.api.Assertions.assertThat(p.getContainerPort()).isEqualTo(8067));
    var without = AgentDaemonSets.desired(SETTINGS, "cowherd-system", java.util.Set.of(), java.util.Map.of())
        .getSpec().getTemplate().getSpec().getContainers().getFirst();
    org.assertj.core.api.Assertions.assertThat(without.getEnv()).noneMatch(e -> e.getName().equals("COWHERD_BOOT_PORT"));
  }
}
