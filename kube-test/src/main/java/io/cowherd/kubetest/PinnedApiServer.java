package io.cowherd.kubetest;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The one place that starts the pinned Kubernetes test binaries: a real kube-apiserver and etcd
 * run by fabric8 kube-api-test in offline mode, listening on loopback only. The operator's and node
 * agent's API-test harnesses and the end-to-end {@code ControlPlane} all start theirs here.
 *
 * <p>The binaries must already be in {@code <dir>/k8s/<KUBE_VERSION>-linux-amd64/} ({@code <dir>} =
 * {@code $KUBE_API_TEST_DIR}, else {@code ~/.kubeapitest}); {@code hack/kube-test-binaries.sh}
 * builds them from source. When one is missing, {@link #start} throws instead of downloading or
 * skipping: choosing a test that needs an API server is opting in.
 *
 * <p><b>Midnight.</b> kube-api-test 7.5.2 ({@code ProcessReadinessChecker.pollWithTimeout}) takes
 * its deadline as {@code LocalTime.now().plus(startupTimeout)}, which wraps at local midnight: a
 * start whose readiness poll begins less than the startup timeout before midnight fails at once with
 * "Kube API Server did not start properly". CI failed exactly so at 23:59. {@link #start} therefore
 * waits until just past midnight when a start would fall in that window (at most {@link
 * #STARTUP_TIMEOUT} plus {@link #ETCD_MARGIN}, once a day).
 */
public final class PinnedApiServer {
  /** Kubernetes version of the pinned binaries ({@code hack/lib.sh} KUBE_VERSION). */
  public static final String KUBE_VERSION = "1.34.2";
  /** The only address kube-apiserver listens on (kube-api-test would bind all addresses). */
  public static final String BIND_ADDRESS = "127.0.0.1";
  /** Bound on kube-apiserver's start: a loaded 2-core machine needs more than kube-api-test's 60 s. */
  public static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(120);
  /** Time allowed for etcd to come up before kube-api-test begins polling kube-apiserver. */
  static final Duration ETCD_MARGIN = Duration.ofSeconds(60);

  private PinnedApiServer() {}

  /** Directory holding kube-apiserver, etcd and kubectl for {@link #KUBE_VERSION}. */
  public static Path binaryDir() {
    String dir = System.getenv("KUBE_API_TEST_DIR");
    Path base = dir != null && !dir.isBlank() ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".kubeapitest");
    return base.resolve("k8s").resolve(KUBE_VERSION + "-linux-amd64");
  }

  /**
   * Starts etcd and kube-apiserver with kube-api-test's flags (RBAC, every default admission plugin
   * but ServiceAccount), {@code --bind-address=127.0.0.1} and {@code extraFlags}, without touching
   * {@code ~/.kube/config}. Returns once kube-apiserver answers.
   *
   * @param extraFlags more kube-apiserver flags, name (with its dashes) to value
   * @throws IllegalStateException when a pinned binary is missing (names the script that builds it)
   * @throws io.fabric8.kubeapitest.KubeAPITestException when kube-apiserver does not answer within
   *     {@link #STARTUP_TIMEOUT}
   */
  public static KubeAPIServer start(Map<String, String> extraFlags) {
    for (String binary : List.of("kube-apiserver", "etcd", "kubectl")) {
      Path path = binaryDir().resolve(binary);
      if (!Files.isExecutable(path)) {
        throw new IllegalStateException("kube-api-test binary " + path + " is missing: run hack/kube-test-binaries.sh"
            + " (builds kube-apiserver, etcd and kubectl " + KUBE_VERSION + " into " + binaryDir() + ")");
      }
    }
    waitPastMidnightIfNeeded();
    KubeAPIServerConfigBuilder config = KubeAPIServerConfigBuilder.anAPIServerConfig()
        .withOfflineMode(true)
        .withApiServerVersion(KUBE_VERSION)
        .withApiServerFlag("--bind-address", BIND_ADDRESS)
        .withUpdateKubeConfig(false)
        .withStartupTimeout((int) STARTUP_TIMEOUT.toMillis());
    extraFlags.forEach(config::withApiServerFlag);
    KubeAPIServer server = new KubeAPIServer(config.build());
    server.start();
    return server;
  }

  /**
   * How long to wait before a start at local time {@code now} so that kube-api-test's readiness
   * deadline ({@code now + etcd start + timeout}, a {@link LocalTime}) cannot wrap past midnight:
   * zero when {@code now + margin + timeout} stays before midnight, else the time until one second
   * past midnight.
   */
  static Duration waitBeforeStart(LocalTime now, Duration timeout, Duration margin) {
    long untilMidnightNanos = LocalTime.MAX.toNanoOfDay() - now.toNanoOfDay() + 1;
    Duration untilMidnight = Duration.ofNanos(untilMidnightNanos);
    if (untilMidnight.compareTo(timeout.plus(margin)) > 0) {
      return Duration.ZERO;
    }
    return untilMidnight.plusSeconds(1);
  }

  private static void waitPastMidnightIfNeeded() {
    Duration wait = waitBeforeStart(LocalTime.now(), STARTUP_TIMEOUT, ETCD_MARGIN);
    if (wait.isZero()) {
      return;
    }
    System.err.printf("PinnedApiServer: waiting %d s until past local midnight: kube-api-test's startup deadline"
        + " is a LocalTime and would wrap%n", wait.toSeconds());
    try {
      Thread.sleep(wait);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting past midnight to start kube-apiserver", e);
    }
  }

  /**
   * Server-side applies every generated cowherd CRD ({@code ../crds/target/classes/META-INF/fabric8},
   * else the committed {@code ../crds/yaml}, relative to the module running the tests) and waits up
   * to 30 s for each to be Established.
   *
   * @throws IllegalStateException when neither directory holds CRD YAML (build the crds module)
   * @throws UncheckedIOException when a CRD file cannot be read
   */
  public static void applyCrds(KubernetesClient client) {
    for (Path file : crdFiles()) {
      try (InputStream in = Files.newInputStream(file)) {
        CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions().load(in).item();
        client.resource(crd).serverSideApply();
        client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
            .waitUntilCondition(PinnedApiServer::established, 30, TimeUnit.SECONDS);
      } catch (IOException e) {
        throw new UncheckedIOException("reading CRD " + file, e);
      }
    }
  }

  private static boolean established(CustomResourceDefinition crd) {
    return crd != null && crd.getStatus() != null && crd.getStatus().getConditions() != null
        && crd.getStatus().getConditions().stream()
            .anyMatch(c -> "Established".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  private static List<Path> crdFiles() {
    for (Path dir : List.of(Path.of("../crds/target/classes/META-INF/fabric8"), Path.of("../crds/yaml"))) {
      if (Files.isDirectory(dir)) {
        try (Stream<Path> files = Files.list(dir)) {
          List<Path> crds = files.filter(f -> f.getFileName().toString().endsWith("-v1.yml")).sorted().toList();
          if (!crds.isEmpty()) {
            return crds;
          }
        } catch (IOException e) {
          throw new UncheckedIOException("listing " + dir, e);
        }
      }
    }
    throw new IllegalStateException(
        "no CRD YAML found in crds/target/classes/META-INF/fabric8 or crds/yaml: build the crds module first");
  }
}
