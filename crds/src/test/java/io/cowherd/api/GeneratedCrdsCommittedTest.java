package io.cowherd.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The CRDs generated from the Java model at build time must equal the committed copies in
 * {@code crds/yaml} and {@code helm/cowherd/files/crds} (which the chart renders as templates, adding
 * only Helm's keep policy); regenerate them with {@code hack/update-crds.sh}.
 */
class GeneratedCrdsCommittedTest {
  private static final Path GENERATED = Path.of("target/classes/META-INF/fabric8");
  private static final List<String> FILES =
      List.of("aoebootpools.cowherd.io-v1.yml", "aoebootslots.cowherd.io-v1.yml");

  @Test
  void committedCrdCopiesEqualGeneratedOnes() throws IOException {
    for (String file : FILES) {
      String generated = Files.readString(GENERATED.resolve(file));
      assertThat(Files.readString(Path.of("yaml", file)))
          .as("crds/yaml/%s is stale: run hack/update-crds.sh", file)
          .isEqualTo(generated);
      assertThat(Files.readString(Path.of("../helm/cowherd/files/crds", file)))
          .as("helm/cowherd/files/crds/%s is stale: run hack/update-crds.sh", file)
          .isEqualTo(generated);
    }
  }
}
