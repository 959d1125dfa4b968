package io.cowherd.e2e.support;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tiny single-layer container images for the test node, written as a docker-archive tar (the
 * format {@code docker save} writes and {@code ctr images import} reads: {@code manifest.json},
 * an image config whose {@code rootfs.diff_ids} is the layer tar's sha256, and the layer tar). Used
 * for the node's pause image (a static C program compiled here with gcc) and for smoke-test images
 * made of static host binaries such as Debian's {@code busybox-static}; the product images come
 * from {@code hack/build-images.sh}.
 *
 * <p>Format: Docker Image Specification v1.2 (moby/moby image/spec/v1.2.md), "Combined Image JSON +
 * Filesystem Changeset Format".
 */
public final class ImageArchive {
  private static final Duration TAR_TIMEOUT = Duration.ofSeconds(120);

  /** Source of the pause container: sleeps until SIGTERM/SIGINT and reaps children. */
  static final String PAUSE_C =
      """
      #include <signal.h>
      #include <sys/wait.h>
      #include <unistd.h>
      static void quit(int sig) { (void) sig; _exit(0); }
      static void reap(int sig) { (void) sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }
      int main(void) {
        signal(SIGINT, quit);
        signal(SIGTERM, quit);
        signal(SIGCHLD, reap);
        for (;;) pause();
      }
      """;

  private ImageArchive() {}

  /**
   * Writes a docker-archive tar holding one layer with {@code files} (path inside the image, e.g.
   * {@code bin/busybox}, to the host file copied there, mode kept) and the given entrypoint.
   *
   * @param reference the image's name:tag, e.g. {@code cowherd.local/pause:1}
   * @return {@code out}
   * @throws Commands.CommandException when tar fails
   */
  public static Path write(Path out, String reference, Map<String, Path> files, List<String> entrypoint) {
    try {
      Path dir = Files.createTempDirectory(out.toAbsolutePath().getParent(), ".image-");
      try {
        Path rootfs = dir.resolve("rootfs");
        for (Map.Entry<String, Path> file : files.entrySet()) {
          Path target = rootfs.resolve(file.getKey());
          Files.createDirectories(target.getParent());
          Files.copy(file.getValue(), target, StandardCopyOption.COPY_ATTRIBUTES);
        }
        Path layout = dir.resolve("archive");
        Files.createDirectories(layout);
        Commands.run(TAR_TIMEOUT, "tar", "--numeric-owner", "--owner=0", "--group=0", "-C", rootfs.toString(),
            "-cf", layout.resolve("layer.tar").toString(), ".");
        String diffId = "sha256:" + Digests.sha256(layout.resolve("layer.tar"));
        ObjectMapper json = new ObjectMapper();
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("architecture", "amd64");
        config.put("os", "linux");
        config.put("config", Map.of("Entrypoint", entrypoint, "Env", List.of("PATH=/bin:/usr/bin:/sbin:/usr/sbin")));
        config.put("rootfs", Map.of("type", "layers", "diff_ids", List.of(diffId)));
        byte[] configBytes = json.writeValueAsBytes(config);
        String configName = Digests.sha256(configBytes) + ".json";
        Files.write(layout.resolve(configName), configBytes);
        List<Map<String, Object>> manifest = new ArrayList<>();
        manifest.add(Map.of("Config", configName, "RepoTags", List.of(reference), "Layers", List.of("layer.tar")));
        Files.write(layout.resolve("manifest.json"), json.writeValueAsBytes(manifest));
        Commands.run(TAR_TIMEOUT, "tar", "--numeric-owner", "--owner=0", "--group=0", "-C", layout.toString(),
            "-cf", out.toAbsolutePath().toString(), "manifest.json", configName, "layer.tar");
        return out;
      } finally {
        Commands.exec(TAR_TIMEOUT, List.of("rm", "-rf", "--one-file-system", dir.toString()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The pause image {@code reference}: {@link #PAUSE_C} compiled with {@code gcc -static -Os} into
   * {@code /pause}, written to {@code out} (reused when it exists: the build is deterministic).
   *
   * @throws Commands.CommandException when gcc (Debian package gcc, libc6-dev) fails
   */
  public static Path pause(Path out, String reference) {
    if (Files.isRegularFile(out)) {
      return out;
    }
    try {
      Path dir = Files.createTempDirectory(out.toAbsolutePath().getParent(), ".pause-");
      try {
        Path source = dir.resolve("pause.c");
        Files.writeString(source, PAUSE_C);
        Path binary = dir.resolve("pause");
        Commands.run(Duration.ofSeconds(120), "gcc", "-static", "-Os", "-s", "-o", binary.toString(), source.toString());
        Path tmp = dir.resolve("pause.tar");
        write(tmp, reference, Map.of("pause", binary), List.of("/pause"));
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING);
        return out;
      } finally {
        Commands.exec(TAR_TIMEOUT, List.of("rm", "-rf", "--one-file-system", dir.toString()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
