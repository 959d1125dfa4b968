package io.cowherd.e2e.support;

import io.cowherd.kubetest.PinnedApiServer;
import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.NodeConditionBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A local Kubernetes control plane: a real kube-apiserver and etcd started by {@link
 * PinnedApiServer} (fabric8 kube-api-test in offline mode) from the pinned binaries that {@code
 * hack/kube-test-binaries.sh} builds into {@code $KUBE_API_TEST_DIR/k8s/<version>-linux-amd64}
 * (default {@code ~/.kubeapitest}).
 *
 * <p>There is no scheduler, controller-manager or kubelet: Node objects are created by {@link
 * #createReadyNode}, and nothing garbage-collects by owner reference.
 */
public final class ControlPlane implements AutoCloseable {
  /** Kubernetes version of the pinned test binaries (hack/lib.sh KUBE_VERSION). */
  public static final String KUBE_VERSION = PinnedApiServer.KUBE_VERSION;
  /** The only address kube-apiserver listens on (etcd, started by kube-api-test, listens on loopback too). */
  public static final String BIND_ADDRESS = PinnedApiServer.BIND_ADDRESS;

  private final KubeAPIServer server;
  private final Path kubeconfig;
  private final KubernetesClient client;

  private ControlPlane(KubeAPIServer server, Path kubeconfig, KubernetesClient client) {
    this.server = server;
    this.kubeconfig = kubeconfig;
    this.client = client;
  }

  /** Directory holding kube-apiserver, etcd and kubectl for {@link #KUBE_VERSION}. */
  public static Path binaryDir() {
    return PinnedApiServer.binaryDir();
  }

  /**
   * Starts etcd and kube-apiserver and writes a kubeconfig to {@code workDir/kubeconfig}.
   *
   * @throws IllegalStateException when the pinned binaries are missing (names the script to run)
   */
  public static ControlPlane start(Path workDir) {
    KubeAPIServer server = PinnedApiServer.start(Map.of());
    String yaml = server.getKubeConfigYaml();
    try {
      Files.createDirectories(workDir);
      Path kubeconfig = workDir.resolve("kubeconfig");
      Files.writeString(kubeconfig, yaml);
      KubernetesClient client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(yaml)).build();
      return new ControlPlane(server, kubeconfig, client);
    } catch (IOException e) {
      server.stop();
      throw new UncheckedIOException(e);
    } catch (RuntimeException | Error e) {
      server.stop(); // else kube-apiserver and etcd outlive the failed start
      throw e;
    }
  }

  /** Path of the kubeconfig file for kubectl, the operator and the node agent. */
  public Path kubeconfig() {
    return kubeconfig;
  }

  /**
   * Environment for an operator or node agent JVM that reaches this control plane as it would from
   * its pod: no kubeconfig file, the server URL, CA and client certificate given as fabric8's
   * {@code KUBERNETES_*} variables (in a pod: the service account's token and CA). A process given
   * a kubeconfig instead parses its YAML through fabric8's static serialization, which loads
   * SnakeYAML and all of the fabric8 model's resource classes: ≈ 800 classes a pod never loads, and
   * memory figures that are not the pod's (issue 11, docs/performance.md).
   *
   * @throws IllegalStateException when the kubeconfig does not name its certificates as files
   */
  public Map<String, String> podLikeEnvironment() {
    Config c = client.getConfiguration();
    if (c.getCaCertFile() == null || c.getClientCertFile() == null || c.getClientKeyFile() == null) {
      throw new IllegalStateException(kubeconfig + " does not name CA, client certificate and key as files");
    }
    return Map.of("KUBERNETES_MASTER", c.getMasterUrl(), "KUBERNETES_CERTS_CA_FILE", c.getCaCertFile(),
        "KUBERNETES_CERTS_CLIENT_FILE", c.getClientCertFile(), "KUBERNETES_CERTS_CLIENT_KEY_FILE", c.getClientKeyFile(),
        "KUBERNETES_AUTH_TRYKUBECONFIG", "false", "KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false");
  }

  /** TCP port kube-apiserver listens on at {@link #BIND_ADDRESS} (the kubeconfig's server URL). */
  public int apiPort() {
    return java.net.URI.create(client.getConfiguration().getMasterUrl()).getPort();
  }

  /** An admin client for the test itself. */
  public KubernetesClient client() {
    return client;
  }

  /**
   * Runs the pinned kubectl with this control plane's kubeconfig and returns the full result (also
   * on a non-zero exit, so tests can assert rejections).
   */
  public Commands.Result kubectl(String... args) {
    List<String> argv = new ArrayList<>();
    argv.add(binaryDir().resolve("kubectl").toString());
    argv.add("--kubeconfig=" + kubeconfig);
    argv.addAll(List.of(args));
    return Commands.exec(Duration.ofSeconds(60), argv);
  }

  /** Like {@link #kubectl} but throws when kubectl exits non-zero. Returns stdout. */
  public String kubectlOk(String... args) {
    Commands.Result r = kubectl(args);
    if (!r.ok()) {
      throw new Commands.CommandException("kubectl " + String.join(" ", args) + " failed: " + r.stderr().strip());
    }
    return r.stdout();
  }

  /** Applies every CRD YAML in {@code dir} and waits until they are established. */
  public void applyCrds(Path dir) {
    kubectlOk("apply", "--server-side", "-f", dir.toString());
    kubectlOk("wait", "--for=condition=Established", "--timeout=60s",
        "crd/aoebootpools.cowherd.io", "crd/aoebootslots.cowherd.io");
  }

  /**
   * Creates a Node object with condition Ready=True, as a kubelet would, so the operator may place
   * slots on it.
   */
  public void createReadyNode(String name, Map<String, String> labels) {
    client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name).withLabels(labels).endMetadata().build())
        .create();
    NodeCondition ready =
        new NodeConditionBuilder()
            .withType("Ready")
            .withStatus("True")
            .withReason("KubeletReady")
            .withMessage("cowherd test node")
            .withLastHeartbeatTime(Instant.now().toString())
            .withLastTransitionTime(Instant.now().toString())
            .build();
    client.nodes().withName(name).editStatus(n -> new NodeBuilder(n).editOrNewStatus().withConditions(ready).endStatus().build());
  }

  @Override
  public void close() {
    client.close();
    server.stop();
  }
}
