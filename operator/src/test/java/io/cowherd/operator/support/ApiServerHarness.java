package io.cowherd.operator.support;

import io.cowherd.kubetest.PinnedApiServer;
import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.Map;

/**
 * A real kube-apiserver + etcd ({@link PinnedApiServer}: fabric8 kube-api-test, offline, loopback)
 * with the cowherd CRDs installed. There is no controller manager (no garbage collector, no
 * namespace deletion), no scheduler and no kubelet. When the pinned binaries are missing the test
 * fails (it never skips): choosing the {@code apiserver} tag is opting in.
 */
public final class ApiServerHarness implements AutoCloseable {
  /** Kubernetes version of the binaries the tests run against. */
  public static final String KUBE_VERSION = PinnedApiServer.KUBE_VERSION;

  private final KubeAPIServer server;
  private final KubernetesClient client;

  private ApiServerHarness(KubeAPIServer server, KubernetesClient client) {
    this.server = server;
    this.client = client;
  }

  /** Starts the API server, connects a client and applies the CRDs (waiting until Established). */
  public static ApiServerHarness start() {
    ApiServerHarness harness = startEmpty();
    PinnedApiServer.applyCrds(harness.client);
    return harness;
  }

  /**
   * Starts an API server without the cowherd CRDs, for tests that install them with Helm. Besides
   * kube-api-test's own flags (RBAC authorization; every default admission plugin but
   * ServiceAccount, so PodSecurity is on) it enables {@code OwnerReferencesPermissionEnforcement},
   * as OpenShift and hardened clusters do: setting {@code blockOwnerDeletion} on an owner reference
   * then needs {@code update} on the owner's {@code finalizers} subresource.
   */
  public static ApiServerHarness startEmpty() {
    KubeAPIServer server = PinnedApiServer.start(
        Map.of("--enable-admission-plugins", "OwnerReferencesPermissionEnforcement"));
    KubernetesClient client = new KubernetesClientBuilder()
        .withConfig(Config.fromKubeconfig(server.getKubeConfigYaml()))
        .build();
    return new ApiServerHarness(server, client);
  }

  /** A client with cluster-admin rights. */
  public KubernetesClient client() {
    return client;
  }

  /** Kubeconfig of the cluster-admin client (e.g. for helm). */
  public String kubeConfigYaml() {
    return server.getKubeConfigYaml();
  }

  @Override
  public void close() {
    client.close();
    server.stop();
  }
}
