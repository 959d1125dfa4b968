package io.cowherd.e2e.images;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What can be checked of the container images without a container engine (none on CI): every
 * file a Dockerfile copies exists after {@code ./mvnw package} (this module runs after operator
 * and node-agent in the reactor), the entrypoint runs the copied jar, the jar's manifest class path
 * is complete in the copied {@code lib/}, and the agent image installs the Debian packages of every
 * host tool the agent runs. {@code hack/build-images.sh} builds the images where an engine exists.
 */
class ContainerImagesTest {
  private static final Path ROOT = Path.of("..");
  private static final Pattern COPY = Pattern.compile("(?m)^COPY (?!--from)(\\S+) (\\S+)$");
  private static final Pattern ENTRYPOINT_JAR = Pattern.compile("(?m)^ENTRYPOINT \\[.*\"-jar\", \"([^\"]+)\"\\]$");

  @ParameterizedTest(name = "{0}/Dockerfile copies what ./mvnw package built and runs {1}")
  @CsvSource({"operator, cowherd-operator.jar", "node-agent, cowherd-node-agent.jar"})
  void dockerfileCopiesTheBuiltJarAndItsLibraries(String module, String jar) throws IOException {
    Path context = ROOT.resolve(module);
    String dockerfile = Files.readString(context.resolve("Dockerfile"));
    Matcher copies = COPY.matcher(dockerfile);
    List<String> destinations = new ArrayList<>();
    while (copies.find()) {
      Path source = context.resolve(copies.group(1));
      assertThat(source).as("%s/Dockerfile copies %s: run ./mvnw package first", module, copies.group(1)).exists();
      destinations.add(copies.group(2));
    }
    assertThat(destinations).contains("/opt/cowherd/lib/", "/opt/cowherd/" + jar);
    Matcher entrypoint = ENTRYPOINT_JAR.matcher(dockerfile);
    assertThat(entrypoint.find()).as("ENTRYPOINT runs java -jar").isTrue();
    assertThat(entrypoint.group(1)).isEqualTo("/opt/cowherd/" + jar);

    try (JarFile built = new JarFile(context.resolve("target").resolve(jar).toFile())) {
      Manifest manifest = built.getManifest();
      assertThat(manifest.getMainAttributes().getValue("Main-Class")).startsWith("io.cowherd.");
      for (String entry : manifest.getMainAttributes().getValue("Class-Path").split(" ")) {
        assertThat(entry).startsWith("lib/");
        assertThat(context.resolve("target").resolve(entry)).as("Class-Path entry %s", entry).exists();
      }
    }
  }

  @ParameterizedTest(name = "agent image provides {0} (Debian package {1})")
  @CsvSource({
    "vblade, vblade",
    "losetup, mount",
    "dmsetup, dmsetup",
    "modprobe, kmod",
    "filefrag, e2fsprogs",
    "xfs_io, xfsprogs",
    "cp, coreutils",
  })
  void agentImageInstallsTheHostTools(String tool, String debianPackage) throws IOException {
    String dockerfile = Files.readString(ROOT.resolve("node-agent/Dockerfile"));
    Matcher install = Pattern.compile("apt-get install -y --no-install-recommends ([^\\\\&\\n]+)").matcher(dockerfile);

    assertThat(install.find()).isTrue();
    assertThat(Arrays.asList(install.group(1).trim().split("\\s+"))).as("packages installed for %s", tool).contains(debianPackage);
    assertThat(dockerfile).contains("COPY --from=jre /opt/java/openjdk /opt/java/openjdk");
  }

  @ParameterizedTest(name = "{0} image is named as the chart deploys it")
  @CsvSource({"cowherd-operator, operator", "cowherd-node-agent, agent"})
  void buildScriptAndChartAgreeOnImageNames(String image, String valuesKey) throws IOException {
    String script = Files.readString(ROOT.resolve("hack/build-images.sh"));
    String values = Files.readString(ROOT.resolve("helm/cowherd/values.yaml"));

    assertThat(script).contains("${prefix}" + image + ":${tag}\"").contains("appVersion");
    assertThat(values).containsPattern("(?s)\\n" + valuesKey + ":\\n  image:\\n    repository: " + image + "\\n");
  }
}
