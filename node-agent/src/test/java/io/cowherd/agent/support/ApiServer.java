package io.cowherd.agent.support;

import static org.junit.jupiter.api.Assertions.fail;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real kube-apiserver + etcd (fabric8 kube-api-test, offline) with the cowherd CRDs applied.
 * Binaries must be in {@code <dir>/k8s/1.34.2-linux-amd64/} ({@code <dir>} = {@code
 * KUBE_API_TEST_DIR} or {@code ~/.kubeapitest}; {@code hack/kube-test-binaries.sh} builds them);
 * when missing the test fails with that message.
 */
public final class ApiServer implements AutoCloseable {
  public static final String KUBE_VERSION = "1.34.2";

  private final KubeAPIServer server;
  private final KubernetesClient client;

  private ApiServer(KubeAPIServer server, KubernetesClient client) {
    this.server = server;
    this.client = client;
  }

  public static ApiServer start() throws IOException {
    String base = System.getenv("KUBE_API_TEST_DIR");
    Path dir = (base != null ? Path.of(base) : Path.of(System.getProperty("user.home"), ".kubeapitest"))
        .resolve("k8s").resolve(KUBE_VERSION + "-linux-amd64");
    for (String binary : List.of("kube-apiserver", "etcd", "kubectl")) {
      if (!Files.isExecutable(dir.resolve(binary))) {
        fail("kube-api-test binary " + dir.resolve(binary) + " is missing: run hack/kube-test-binaries.sh");
      }
    }
    KubeAPIServer server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
        .withOfflineMode(true).withApiServerVersion(KUBE_VERSION)
        .withApiServerFlag("--bind-address", "127.0.0.1") // loopback only (kube-api-test binds all addresses)
        // The e2e ControlPlane's bound: a loaded 2-core machine needs more than kube-api-test's 60 s.
        .withStartupTimeout(120_000)
        .build());
    server.start();
    KubernetesClient client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(server.getKubeConfigYaml())).build();
    ApiServer api = new ApiServer(server, client);
    api.applyCrds();
    return api;
  }

  public KubernetesClient client() {
    return client;
  }

  @Override
  public void close() {
    client.close();
    server.stop();
  }

  private void applyCrds() throws IOException {
    Path dir = Stream.of(Path.of("../crds/target/classes/META-INF/fabric8"), Path.of("../crds/yaml"))
        .filter(Files::isDirectory).findFirst()
        .orElseGet(() -> fail("no CRD YAML in crds/target/classes/META-INF/fabric8 or crds/yaml: build crds first"));
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(f -> f.getFileName().toString().endsWith("-v1.yml")).sorted().toList();
    }
    for (Path file : files) {
      try (InputStream in = Files.newInputStream(file)) {
        CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions().load(in).item();
        client.resource(crd).serverSideApply();
        client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
            .waitUntilCondition(c -> c != null && c.getStatus() != null && c.getStatus().getConditions() != null
                && c.getStatus().getConditions().stream()
                    .anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())),
                30, TimeUnit.SECONDS);
      }
    }
  }
}
