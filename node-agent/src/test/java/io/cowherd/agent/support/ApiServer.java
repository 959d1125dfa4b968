package io.cowherd.agent.support;

import io.cowherd.agent.config.AgentClient;
import io.cowherd.kubetest.PinnedApiServer;
import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.Map;

/**
 * A real kube-apiserver + etcd ({@link PinnedApiServer}: fabric8 kube-api-test, offline, loopback)
 * with the cowherd CRDs applied. When the pinned binaries are missing the test fails, naming
 * {@code hack/kube-test-binaries.sh}.
 */
public final class ApiServer implements AutoCloseable {
  private final KubeAPIServer server;
  private final KubernetesClient client;

  private ApiServer(KubeAPIServer server, KubernetesClient client) {
    this.server = server;
    this.client = client;
  }

  /** Starts the API server, connects a cluster-admin client and applies the CRDs. */
  public static ApiServer start() {
    KubeAPIServer server = PinnedApiServer.start(Map.of());
    KubernetesClient client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(server.getKubeConfigYaml())).build();
    PinnedApiServer.applyCrds(client);
    return new ApiServer(server, client);
  }

  /**
   * A new client as the node agent builds it ({@link AgentClient}), with cluster-admin rights; the
   * caller closes it.
   */
  public KubernetesClient agentClient() {
    return AgentClient.create(Config.fromKubeconfig(server.getKubeConfigYaml()));
  }

  /** A client with cluster-admin rights. */
  public KubernetesClient client() {
    return client;
  }

  @Override
  public void close() {
    client.close();
    server.stop();
  }
}
