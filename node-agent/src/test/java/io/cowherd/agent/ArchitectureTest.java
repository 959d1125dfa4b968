package io.cowherd.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Arrows run one way: slot → backend/export → host; host and backend know nothing of Kubernetes. */
class ArchitectureTest {
  private static final Path MAIN = Path.of("src/main/java/io/cowherd/agent");

  @ParameterizedTest
  @ValueSource(strings = {"host", "backend", "export", "inventory", "dhcp"})
  void packageImportsNoKubernetesOrHigherLayer(String pkg) throws IOException {
    List<String> forbidden = switch (pkg) {
      case "host" -> List.of("io.fabric8", "io.javaoperatorsdk", "io.cowherd.api", "io.cowherd.agent.backend",
          "io.cowherd.agent.export", "io.cowherd.agent.slot", "io.cowherd.agent.inventory");
      case "backend" -> List.of("io.fabric8", "io.javaoperatorsdk", "io.cowherd.api", "io.cowherd.agent.export",
          "io.cowherd.agent.slot");
      default -> List.of("io.fabric8", "io.javaoperatorsdk", "io.cowherd.agent.slot");
    };
    try (Stream<Path> files = Files.walk(MAIN.resolve(pkg))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        String src = Files.readString(f);
        for (String bad : forbidden) {
          assertThat(src).as("%s must not use %s", f, bad).doesNotContain("import " + bad).doesNotContain(" " + bad + ".");
        }
      }
    }
  }
}
