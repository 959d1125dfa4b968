package io.cowherd.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Keeps the arrows one way (style.md): the pure packages import no client, no JOSDK and no other
 * operator package but what they are allowed; nothing imports the node agent.
 */
class PackageDependencyTest {
  private static final Path SOURCES = Path.of("src/main/java/io/cowherd/operator");

  @ParameterizedTest(name = "{0} does not import {1}")
  @CsvSource({
    "placement, io.fabric8.kubernetes.client",
    "placement, io.javaoperatorsdk",
    "placement, io.cowherd.operator.",
    "conflict, io.fabric8.kubernetes.client",
    "conflict, io.javaoperatorsdk",
    "conflict, io.cowherd.operator.",
    "status, io.fabric8.kubernetes.client",
    "status, io.javaoperatorsdk",
    "status, io.cowherd.operator.",
    "node, io.cowherd.operator.pool",
    "node, io.javaoperatorsdk",
    "error, io.cowherd.operator.pool",
    "config, io.fabric8",
    "config, io.cowherd.operator.pool",
    "pool, io.cowherd.agent",
    "pool, io.cowherd.aoe",
    "pool, io.cowherd.operator.http",
    "metrics, io.fabric8.kubernetes.client",
    "metrics, io.javaoperatorsdk",
    "metrics, io.cowherd.operator.",
    "http, io.fabric8",
    "http, io.javaoperatorsdk",
    "http, io.cowherd.operator.pool",
    "liveness, io.cowherd.operator.pool",
    "liveness, io.cowherd.operator.http",
  })
  void packageDoesNotImport(String pkg, String forbidden) throws IOException {
    List<String> offenders = new ArrayList<>();
    try (Stream<Path> files = Files.walk(SOURCES.resolve(pkg))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        for (String line : Files.readAllLines(file)) {
          if (line.startsWith("import ") && line.contains(" " + forbidden) && !line.contains("io.cowherd.operator." + pkg + ".")) {
            offenders.add(file.getFileName() + ": " + line);
          }
        }
      }
    }
    assertThat(offenders).as("imports of %s in package %s", forbidden, pkg).isEmpty();
  }
}
