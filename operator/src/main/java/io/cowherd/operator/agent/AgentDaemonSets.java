package io.cowherd.operator.agent;

import io.cowherd.api.Names;
import io.cowherd.operator.config.AgentSettings;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.DaemonSetBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The node agent DaemonSet the operator wants: a pure function of the operator's settings. The
 * agent owns host state, so its pod is privileged, uses the host network (vblade sends raw
 * Ethernet frames on the host NIC) and sees the host's {@code /dev} (loop and device-mapper nodes
 * created after the pod started must appear in it). The state dir and each image root are mounted
 * at their host paths, so paths in slot status are host paths; image roots are read-only, the
 * origin is never written.
 */
public final class AgentDaemonSets {
  /** Name of the agent container. */
  public static final String CONTAINER = "node-agent";
  /** Mount path of the host's {@code /dev}. */
  public static final String DEV = "/dev";
  /** Mount path of the host's kernel modules ({@code modprobe} of loop, dm_snapshot). */
  public static final String MODULES = "/lib/modules";
  /** Name of the health and metrics port. */
  public static final String HTTP_PORT_NAME = "http";
  /** Name of the container port of the boot endpoint (only with a boot port). */
  public static final String BOOT_PORT_NAME = "boot";

  private AgentDaemonSets() {}

  /**
   * Builds the DaemonSet.
   *
   * @param settings agent image, paths, scheduling and logging
   * @param namespace the operator's namespace, where the DaemonSet lives
   * @param watchNamespaces namespaces whose slots the agent serves; empty for all
   * @param nodeSelector labels of the nodes that may serve pools (also the operator's placement rule)
   */
  public static DaemonSet desired(AgentSettings settings, String namespace, Set<String> watchNamespaces,
      Map<String, String> nodeSelector) {
    Map<String, String> labels = new TreeMap<>(settings.podLabels());
    Map<String, String> selector = new TreeMap<>(nodeSelector);
    selector.put("kubernetes.io/os", "linux");

    return new DaemonSetBuilder()
        .withNewMetadata()
        .withName(settings.daemonSetName())
        .withNamespace(namespace)
        .withLabels(objectLabels(settings))
        .endMetadata()
        .withNewSpec()
        .withNewSelector().withMatchLabels(labels).endSelector()
        .withNewUpdateStrategy()
        .withType("RollingUpdate")
        .withNewRollingUpdate().withNewMaxUnavailable(1).endRollingUpdate()
        .endUpdateStrategy()
        .withNewTemplate()
        .withNewMetadata()
        .withLabels(labels)
        .withAnnotations(Map.of("kubectl.kubernetes.io/default-container", CONTAINER))
        .endMetadata()
        .withNewSpec()
        .withServiceAccountName(settings.serviceAccountName())
        .withAutomountServiceAccountToken(true)
        .withHostNetwork(true)
        .withDnsPolicy("ClusterFirstWithHostNet")
        .withPriorityClassName(settings.priorityClassName().isEmpty() ? null : settings.priorityClassName())
        .withNodeSelector(selector)
        .withTolerations(tolerations(settings))
        .withImagePullSecrets(settings.imagePullSecrets().stream().map(LocalObjectReference::new).toList())
        .withTerminationGracePeriodSeconds(30L)
        .withContainers(container(settings, watchNamespaces))
        .withVolumes(volumes(settings))
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }

  /** The agent's command line after the image's entrypoint. */
  public static List<String> args(AgentSettings settings, Set<String> watchNamespaces) {
    List<String> args = new ArrayList<>();
    args.add("--state-dir=" + settings.stateDir());
    settings.imageRoots().forEach(root -> args.add("--image-root=" + root));
    watchNamespaces.stream().sorted().forEach(ns -> args.add("--namespace=" + ns));
    return args;
  }

  private static Container container(AgentSettings settings, Set<String> watchNamespaces) {
    ContainerBuilder container = new ContainerBuilder()
        .withName(CONTAINER)
        .withImage(settings.image())
        .withImagePullPolicy(settings.imagePullPolicy())
        .withArgs(args(settings, watchNamespaces))
        .withEnv(env(settings))
        .addNewPort()
        .withName(HTTP_PORT_NAME)
        .withContainerPort(settings.httpPort())
        .withProtocol("TCP")
        .endPort()
        .withNewSecurityContext()
        // loop and device-mapper ioctls, mknod in /dev, AF_PACKET sockets: needs full privilege.
        .withPrivileged(true)
        .withRunAsUser(0L)
        .withReadOnlyRootFilesystem(true)
        .endSecurityContext()
        .withResources(Serialization.unmarshal(settings.resources(), ResourceRequirements.class))
        .withLivenessProbe(probe("/healthz", 10, 6))
        .withReadinessProbe(probe("/readyz", 5, 3))
        .withVolumeMounts(mounts(settings));
    if (settings.bootPort() > 0) {
      container.addNewPort().withName(BOOT_PORT_NAME).withContainerPort(settings.bootPort()).withProtocol("TCP").endPort();
    }
    return container.build();
  }

  private static List<EnvVar> env(AgentSettings settings) {
    List<EnvVar> env = new java.util.ArrayList<>(List.of(
        new EnvVarBuilder().withName("NODE_NAME")
            .withNewValueFrom().withNewFieldRef().withApiVersion("v1").withFieldPath("spec.nodeName").endFieldRef().endValueFrom()
            .build(),
        // The agent's heartbeat Lease lives in its own namespace.
        new EnvVarBuilder().withName("POD_NAMESPACE")
            .withNewValueFrom().withNewFieldRef().withApiVersion("v1").withFieldPath("metadata.namespace").endFieldRef()
            .endValueFrom()
            .build(),
        new EnvVar("COWHERD_LOG_LEVEL", settings.logLevel(), null),
        new EnvVar("COWHERD_LOG_FORMAT", settings.logFormat(), null),
        new EnvVar("COWHERD_HTTP_PORT", Integer.toString(settings.httpPort()), null),
        // No udev in the container: libdevmapper creates /dev/mapper nodes itself instead of waiting for udev.
        new EnvVar("DM_DISABLE_UDEV", "1", null)));
    if (settings.bootPort() > 0) {
      env.add(new EnvVar("COWHERD_BOOT_PORT", Integer.toString(settings.bootPort()), null));
    }
    return List.copyOf(env);
  }

  private static Probe probe(String path, int periodSeconds, int failureThreshold) {
    return new ProbeBuilder()
        .withNewHttpGet().withPath(path).withNewPort(HTTP_PORT_NAME).endHttpGet()
        .withInitialDelaySeconds(5)
        .withPeriodSeconds(periodSeconds)
        .withTimeoutSeconds(3)
        .withFailureThreshold(failureThreshold)
        .build();
  }

  private static List<VolumeMount> mounts(AgentSettings settings) {
    List<VolumeMount> mounts = new ArrayList<>();
    mounts.add(new VolumeMountBuilder().withName("dev").withMountPath(DEV).withMountPropagation("HostToContainer").build());
    mounts.add(new VolumeMountBuilder().withName("modules").withMountPath(MODULES).withReadOnly(true).build());
    mounts.add(new VolumeMountBuilder().withName("state").withMountPath(settings.stateDir()).build());
    List<String> roots = settings.imageRoots();
    for (int i = 0; i < roots.size(); i++) {
      mounts.add(new VolumeMountBuilder().withName(imageRootVolume(i)).withMountPath(roots.get(i)).withReadOnly(true)
          .withMountPropagation("HostToContainer").build());
    }
    mounts.add(new VolumeMountBuilder().withName("tmp").withMountPath("/tmp").build());
    mounts.add(new VolumeMountBuilder().withName("run").withMountPath("/run").build());
    return mounts;
  }

  private static List<Volume> volumes(AgentSettings settings) {
    List<Volume> volumes = new ArrayList<>();
    volumes.add(hostPath("dev", DEV, "Directory"));
    volumes.add(hostPath("modules", MODULES, "Directory"));
    volumes.add(hostPath("state", settings.stateDir(), "DirectoryOrCreate"));
    List<String> roots = settings.imageRoots();
    for (int i = 0; i < roots.size(); i++) {
      volumes.add(hostPath(imageRootVolume(i), roots.get(i), "Directory"));
    }
    volumes.add(new VolumeBuilder().withName("tmp").withNewEmptyDir().endEmptyDir().build());
    volumes.add(new VolumeBuilder().withName("run").withNewEmptyDir().withMedium("Memory").endEmptyDir().build());
    return volumes;
  }

  /** Volume name of the {@code index}-th image root. */
  public static String imageRootVolume(int index) {
    return "image-root-" + index;
  }

  private static Volume hostPath(String name, String path, String type) {
    return new VolumeBuilder().withName(name).withNewHostPath().withPath(path).withType(type).endHostPath().build();
  }

  private static List<Toleration> tolerations(AgentSettings settings) {
    Toleration[] parsed = Serialization.unmarshal(settings.tolerations(), Toleration[].class);
    return List.of(parsed);
  }

  /** The settings' labels plus the managed-by label, as on the DaemonSet object. */
  static Map<String, String> objectLabels(AgentSettings settings) {
    Map<String, String> labels = new TreeMap<>(settings.podLabels());
    labels.put(Names.MANAGED_BY_LABEL, "cowherd-operator");
    return labels;
  }
}
