package io.cowherd.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The classpath that {@code hack/demo.sh}, {@code hack/kube-node.sh} and the benchmarks run on
 * ({@code e2e/target/classpath.txt}, written at {@code package}) works on its own. The end-to-end
 * tests cannot show this: failsafe also puts the operator's and agent's jars on their classpath,
 * which the demo leaves out. Once a test-only dependency (testcontainers' docker-java) won Maven's
 * version choice for {@code jackson-annotations}, the demo died at its first kubeconfig with {@code
 * NoClassDefFoundError: JsonIncludeProperties} while every test passed.
 */
class DemoClasspathE2E {
  private static final Path CLASSPATH = Path.of("target", "classpath.txt");

  @Test
  void everyJacksonJarOnTheDemoClasspathIsOfOneRelease() throws IOException {
    Map<String, String> versions = new TreeMap<>();
    Pattern jackson = Pattern.compile(".*/com/fasterxml/jackson/[^/]+/([^/]+)/([^/]+)/[^/]+\\.jar");
    for (String entry : entries()) {
      Matcher m = jackson.matcher(entry);
      if (m.matches()) {
        versions.put(m.group(1), m.group(2));
      }
    }
    System.out.println("[demo classpath] jackson " + versions);
    assertThat(versions).containsKeys("jackson-annotations", "jackson-databind");
    String release = release(versions.get("jackson-databind"));
    assertThat(versions).allSatisfy((artifact, version) ->
        assertThat(release(version)).as("%s %s beside jackson-databind %s", artifact, version,
            versions.get("jackson-databind")).isEqualTo(release));
  }

  @Test
  void theDemoClasspathAloneReadsAKubeconfig() throws Exception {
    List<URL> urls = new ArrayList<>();
    urls.add(Path.of("target", "classes").toUri().toURL());
    for (String entry : entries()) {
      urls.add(Path.of(entry).toUri().toURL());
    }
    String kubeconfig = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: lab
          cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
        users:
        - name: admin
          user: {token: t}
        contexts:
        - name: lab
          context: {cluster: lab, user: admin}
        current-context: lab
        """;
    // Only the demo's jars: the platform class loader as parent, not this test's classpath.
    // fabric8 finds its model classes with ServiceLoader through the context class loader: that one too.
    ClassLoader before = Thread.currentThread().getContextClassLoader();
    try (URLClassLoader demo = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader())) {
      Thread.currentThread().setContextClassLoader(demo);
      Class<?> config = Class.forName("io.fabric8.kubernetes.client.Config", true, demo);
      Object parsed = config.getMethod("fromKubeconfig", String.class).invoke(null, kubeconfig);
      assertThat(config.getMethod("getMasterUrl").invoke(parsed)).asString().startsWith("https://127.0.0.1:6443");
    } finally {
      Thread.currentThread().setContextClassLoader(before);
    }
  }

  private static String release(String version) {
    String[] parts = version.split("\\.");
    return parts[0] + "." + parts[1];
  }

  private static List<String> entries() throws IOException {
    if (!Files.isRegularFile(CLASSPATH)) {
      fail(CLASSPATH.toAbsolutePath() + " is missing: it is written at the package phase (./mvnw -pl e2e -am package)");
    }
    return List.of(Files.readString(CLASSPATH).strip().split(java.io.File.pathSeparator));
  }
}
