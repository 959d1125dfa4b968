package io.cowherd.e2e.images;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What can be checked of the image recipe without building it: the build script names each image
 * as the chart deploys it, and each image has its package list and JVM options in hack/images/.
 * {@link ContainerImagesHostTest} runs the built images.
 */
class ContainerImagesTest {
  private static final Path ROOT = Path.of("..");

  @ParameterizedTest(name = "{0} image is named as the chart deploys it")
  @CsvSource({"cowherd-operator, operator", "cowherd-node-agent, agent"})
  void buildScriptAndChartAgreeOnImageNames(String image, String valuesKey) throws IOException {
    String script = Files.readString(ROOT.resolve("hack/build-images.sh"));
    String values = Files.readString(ROOT.resolve("helm/cowherd/values.yaml"));

    assertThat(script).contains("name=\"${prefix}$image:${tag}\"").contains("\nbuild " + image + " ").contains("appVersion");
    assertThat(values).containsPattern("(?s)\\n" + valuesKey + ":\\n  image:\\n    repository: " + image + "\\n");
  }

  @ParameterizedTest(name = "{0} image has a package list and JVM options")
  @CsvSource({"cowherd-operator", "cowherd-node-agent"})
  void recipeFilesExist(String image) {
    assertThat(ROOT.resolve("hack/images/" + image + ".packages")).isRegularFile();
    assertThat(ROOT.resolve("hack/images/" + image + ".jvm-options")).isRegularFile();
  }
}
