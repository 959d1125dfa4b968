package io.cowherd.operator.config;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How the operator runs the node agent as a DaemonSet in its own namespace. Present in {@link
 * OperatorConfig} only when an agent image is configured; without it the operator leaves the agent
 * to whoever runs it (a host process in the demo and the end-to-end tests).
 *
 * @param image container image of the node agent
 * @param imagePullPolicy {@code Always}, {@code IfNotPresent} or {@code Never}
 * @param imagePullSecrets names of Secrets in the operator's namespace used to pull {@code image}
 * @param daemonSetName name of the DaemonSet the operator keeps
 * @param serviceAccountName ServiceAccount of the agent pods (created by the Helm chart)
 * @param ownerDeployment name of the operator's Deployment in its namespace: the DaemonSet is owned
 *     by it, so deleting the operator (helm uninstall) garbage-collects the DaemonSet
 * @param stateDir host directory holding the COW stores, mounted read-write at the same path
 * @param imageRoots host directories origins must lie under, each mounted read-only at the same
 *     path
 * @param tolerations JSON array of Kubernetes tolerations for the agent pods
 * @param resources JSON object of Kubernetes container resources ({@code requests}, {@code limits})
 * @param httpPort host port of the agent's health and metrics endpoints (the agent uses the host
 *     network)
 * @param logLevel the agent's root log level
 * @param logFormat the agent's log format, {@code text} or {@code json}
 * @param priorityClassName priority class of the agent pods; empty for none
 * @param bootPort host port of the agent's boot endpoint ({@code /boot/v1/ipxe}); 0: none
 */
public record AgentSettings(
    String image,
    String imagePullPolicy,
    List<String> imagePullSecrets,
    String daemonSetName,
    String serviceAccountName,
    String ownerDeployment,
    String stateDir,
    List<String> imageRoots,
    String tolerations,
    String resources,
    int httpPort,
    String logLevel,
    String logFormat,
    String priorityClassName,
    int bootPort) {
  /** Copies the lists so the record stays immutable. */
  public AgentSettings {
    Objects.requireNonNull(image, "image");
    imagePullSecrets = List.copyOf(imagePullSecrets);
    imageRoots = List.copyOf(imageRoots);
  }

  /** Copy with another image: what a {@code helm upgrade} that changes the agent image amounts to. */
  public AgentSettings withImage(String newImage) {
    return new AgentSettings(newImage, imagePullPolicy, imagePullSecrets, daemonSetName, serviceAccountName,
        ownerDeployment, stateDir, imageRoots, tolerations, resources, httpPort, logLevel, logFormat,
        priorityClassName, bootPort);
  }

  /** Labels on the DaemonSet's pods, also its selector (immutable once created). */
  public Map<String, String> podLabels() {
    return Map.of(
        "app.kubernetes.io/name", "cowherd-node-agent",
        "app.kubernetes.io/instance", daemonSetName,
        "app.kubernetes.io/component", "node-agent");
  }
}
