package io.cowherd.e2e.images;

import io.cowherd.e2e.support.Commands;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The images {@code hack/build-images.sh} builds, as the tests find them: in the local image store
 * (buildah's, which podman shares) under {@code localhost/<name>:<appVersion of the chart>}, and as
 * docker-archive tars in {@code ${COWHERD_IMAGE_DIR:-/var/cache/cowherd/images}}.
 *
 * <p>{@link #ensureBuilt()} reuses the images when they are newer than every input (the jars, the
 * package lists and JVM options in hack/images/, the build script) and otherwise runs the build
 * script with {@code --skip-maven}: this module runs after operator and node-agent in the reactor,
 * so their jars are packaged. The script keeps its root filesystems and runtime cached, so a
 * rebuild after a code change takes about a minute (two AOT training runs of 12 s each).
 */
final class BuiltImages {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final String OPERATOR = "cowherd-operator";
  static final String AGENT = "cowherd-node-agent";
  private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(20);

  private BuiltImages() {}

  /** The image tag: appVersion of helm/cowherd/Chart.yaml, as the build script and the chart use. */
  static String tag() {
    try {
      Matcher m = Pattern.compile("(?m)^appVersion: *\"?([^\"\\s]+)\"?\\s*$")
          .matcher(Files.readString(ROOT.resolve("helm/cowherd/Chart.yaml")));
      if (!m.find()) {
        throw new IllegalStateException("no appVersion in helm/cowherd/Chart.yaml");
      }
      return m.group(1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Local image reference of {@code image} ({@link #OPERATOR} or {@link #AGENT}). */
  static String reference(String image) {
    return "localhost/" + image + ":" + tag();
  }

  /** The docker-archive tar of {@code image}. */
  static Path archive(String image) {
    String dir = System.getenv().getOrDefault("COWHERD_IMAGE_DIR", "/var/cache/cowherd/images");
    return Path.of(dir).resolve(image + "-" + tag() + ".tar");
  }

  /**
   * Builds both images unless both archives exist, are newer than every input and the local store
   * holds both images.
   *
   * @throws Commands.CommandException if the build fails or runs past 20 minutes
   */
  static void ensureBuilt() throws IOException {
    FileTime newestInput = newest(inputs());
    boolean current = true;
    for (String image : List.of(OPERATOR, AGENT)) {
      Path archive = archive(image);
      current &= Files.exists(archive) && Files.getLastModifiedTime(archive).compareTo(newestInput) >= 0
          && Commands.exec(Duration.ofSeconds(30), List.of("podman", "image", "exists", reference(image))).ok();
    }
    if (!current) {
      Commands.run(BUILD_TIMEOUT, ROOT.resolve("hack/build-images.sh").toString(), "--skip-maven");
    }
  }

  private static List<Path> inputs() throws IOException {
    List<Path> inputs = new ArrayList<>(List.of(
        ROOT.resolve("operator/target/cowherd-operator.jar"),
        ROOT.resolve("node-agent/target/cowherd-node-agent.jar"),
        ROOT.resolve("hack/build-images.sh")));
    try (Stream<Path> files = Files.list(ROOT.resolve("hack/images"))) {
      files.forEach(inputs::add);
    }
    for (String module : List.of("operator", "node-agent")) {
      try (Stream<Path> libs = Files.list(ROOT.resolve(module).resolve("target/lib"))) {
        libs.forEach(inputs::add);
      }
    }
    return inputs;
  }

  private static FileTime newest(List<Path> files) throws IOException {
    FileTime newest = FileTime.fromMillis(0);
    for (Path f : files) {
      if (!Files.exists(f)) {
        throw new IllegalStateException(f + " missing: run ./mvnw package (the e2e module runs after operator and node-agent)");
      }
      FileTime t = Files.getLastModifiedTime(f);
      if (t.compareTo(newest) > 0) {
        newest = t;
      }
    }
    return newest;
  }
}
