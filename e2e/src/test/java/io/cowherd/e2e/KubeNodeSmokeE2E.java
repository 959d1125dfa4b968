package io.cowherd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.e2e.support.Commands;
import io.cowherd.e2e.support.ImageArchive;
import io.cowherd.e2e.support.KubeNode;
import io.fabric8.kubernetes.api.model.Pod;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The real single-node cluster of {@link KubeNode} works and leaves nothing behind: the kubelet
 * registers a Ready node; a privileged hostNetwork pod from an image imported with {@code ctr}
 * (never pulled) runs in the node's network namespace; a pod on the pod network reaches the API
 * server at the {@code kubernetes} Service address the kubelet gives it; a filesystem mounted under
 * {@link KubeNode#hostMounts()} after the start is visible inside the node; after close no process, cgroup, mount, namespace, directory or
 * sysctl change of the cluster is left on the host.
 */
class KubeNodeSmokeE2E {
  private static final String IMAGE = "cowherd.local/smoke:1";

  @Test
  void nodeIsReadyRunsPodsFromImportedImagesAndTeardownLeavesNothing() throws Exception {
    Path work = Files.createDirectories(Path.of("target", "e2e-kubenode").toAbsolutePath());
    KubeNode node = KubeNode.start(work);
    try {
      // Debian's busybox-static is one static binary: a complete image without any registry.
      Path tar = ImageArchive.write(work.resolve("smoke.tar"), IMAGE, Map.of("bin/busybox", Path.of("/bin/busybox")),
          List.of("/bin/busybox"));
      node.importImage(tar);

      Path manifest = work.resolve("smoke-pods.yaml");
      Files.writeString(manifest, """
          apiVersion: v1
          kind: Pod
          metadata: {name: host-privileged, namespace: default}
          spec:
            hostNetwork: true
            containers:
            - name: main
              image: %1$s
              imagePullPolicy: Never
              args: [sleep, "3600"]
              securityContext: {privileged: true}
          ---
          apiVersion: v1
          kind: Pod
          metadata: {name: reach-api, namespace: default}
          spec:
            restartPolicy: Never
            containers:
            - name: main
              image: %1$s
              imagePullPolicy: Never
              args: [wget, -q, -O, /dev/null, --no-check-certificate,
                     "https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)/healthz"]
          """.formatted(IMAGE));
      node.kubectlOk("apply", "-f", manifest.toString());

      Awaitility.await("privileged hostNetwork pod Running")
          .atMost(Duration.ofSeconds(120))
          .pollInterval(Duration.ofMillis(500))
          .until(() -> phase(node, "host-privileged").equals("Running"));
      Pod hostPod = node.client().pods().inNamespace("default").withName("host-privileged").get();
      assertThat(hostPod.getSpec().getNodeName()).isEqualTo(node.nodeName());
      assertThat(hostPod.getStatus().getPodIP()).as("a hostNetwork pod has the node's IP").isEqualTo(KubeNode.NODE_IP);

      Awaitility.await("pod-network pod reaches the API server")
          .atMost(Duration.ofSeconds(120))
          .pollInterval(Duration.ofMillis(500))
          .until(() -> List.of("Succeeded", "Failed").contains(phase(node, "reach-api")));
      assertThat(phase(node, "reach-api")).as("wget https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/healthz"
          + " from the pod network").isEqualTo("Succeeded");

      // A filesystem the test mounts under hostMounts() after the start appears in the node.
      Path probe = Files.createDirectories(node.hostMounts().resolve("probe"));
      Commands.run("mount", "-t", "tmpfs", "cowherd-probe", probe.toString());
      try {
        Files.writeString(probe.resolve("seen"), "yes");
        assertThat(node.execInNode(Duration.ofSeconds(10), List.of("cat", probe.resolve("seen").toString())).stdout())
            .isEqualTo("yes");
      } finally {
        Commands.run("umount", probe.toString());
      }
    } finally {
      node.close();
    }
    assertThat(node.leftovers()).as("what the cluster left on the host").isEmpty();
  }

  private static String phase(KubeNode node, String pod) {
    Pod p = node.client().pods().inNamespace("default").withName(pod).get();
    return p == null || p.getStatus() == null || p.getStatus().getPhase() == null ? "" : p.getStatus().getPhase();
  }
}
