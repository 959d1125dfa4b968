package io.cowherd.operator.support;

import static org.assertj.core.api.Assertions.fail;

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
 * A real kube-apiserver + etcd (fabric8 kube-api-test, offline) with the cowherd CRDs installed.
 * There is no controller manager (no garbage collector, no namespace deletion), no scheduler and
 * no kubelet.
 *
 * <p>The binaries must already be in {@code <dir>/k8s/1.34.2-linux-amd64/} ({@code <dir>} = {@code
 * KUBE_API_TEST_DIR} or {@code ~/.kubeapitest}); {@code hack/kube-test-binaries.sh} builds them.
 * When they are missing the test fails (it never skips): choosing the {@code apiserver} tag is
 * opting in.
 */
public final class ApiServerHarness implements AutoCloseable {
  /** Kubernetes version of the binaries the tests run against. */
  public static final String KUBE_VERSION = "1.34.2";

  private final KubeAPIServer server;
  private final KubernetesClient client;

  private ApiServerHarness(KubeAPIServer server, KubernetesClient client) {
    this.server = server;
    this.client = client;
  }

  /** Starts the API server, connects a client and applies the CRDs (waiting until Established). */
  public static ApiServerHarness start() throws IOException {
    ApiServerHarness harness = startEmpty();
    harness.applyCrds();
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
    requireBinaries();
    KubeAPIServer server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
        .withOfflineMode(true)
        .withApiServerVersion(KUBE_VERSION)
        .withApiServerFlag("--enable-admission-plugins", "OwnerReferencesPermissionEnforcement")
        .withApiServerFlag("--bind-address", "127.0.0.1") // loopback only (kube-api-test binds all addresses)
        // The e2e ControlPlane's bound: a loaded 2-core machine needs more than kube-api-test's 60 s.
        .withStartupTimeout(120_000)
        .build());
    server.start();
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

  private static void requireBinaries() {
    String base = System.getenv("KUBE_API_TEST_DIR");
    Path dir = (base != null ? Path.of(base) : Path.of(System.getProperty("user.home"), ".kubeapitest"))
        .resolve("k8s").resolve(KUBE_VERSION + "-linux-amd64");
    for (String binary : List.of("kube-apiserver", "etcd", "kubectl")) {
      Path path = dir.resolve(binary);
      if (!Files.isExecutable(path)) {
        fail("kube-api-test binary " + path + " is missing: run hack/kube-test-binaries.sh "
            + "(builds kube-apiserver, etcd and kubectl " + KUBE_VERSION + " into " + dir + ")");
      }
    }
  }

  private void applyCrds() throws IOException {
    for (Path file : crdFiles()) {
      try (InputStream in = Files.newInputStream(file)) {
        CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions().load(in).item();
        client.resource(crd).serverSideApply();
        client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
            .waitUntilCondition(ApiServerHarness::established, 30, TimeUnit.SECONDS);
      }
    }
  }

  private static boolean established(CustomResourceDefinition crd) {
    return crd != null && crd.getStatus() != null && crd.getStatus().getConditions() != null
        && crd.getStatus().getConditions().stream()
            .anyMatch(c -> "Established".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  /** Generated CRDs of this build (crds/target), else the committed copies (crds/yaml). */
  private static List<Path> crdFiles() throws IOException {
    for (Path dir : List.of(Path.of("../crds/target/classes/META-INF/fabric8"), Path.of("../crds/yaml"))) {
      if (Files.isDirectory(dir)) {
        try (Stream<Path> files = Files.list(dir)) {
          List<Path> crds = files.filter(f -> f.getFileName().toString().endsWith("-v1.yml")).sorted().toList();
          if (!crds.isEmpty()) {
            return crds;
          }
        }
      }
    }
    return fail("no CRD YAML found in crds/target/classes/META-INF/fabric8 or crds/yaml: build the crds module first");
  }
}
