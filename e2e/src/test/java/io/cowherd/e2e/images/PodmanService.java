package io.cowherd.e2e.images;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's podman serving its Docker-compatible REST API on a unix socket ({@code podman system
 * service --time=0 unix://SOCKET}), for Testcontainers (which finds it through {@code DOCKER_HOST},
 * set in e2e/pom.xml). Podman uses the same image store as buildah ({@code /var/lib/containers/
 * storage}), so the images {@code hack/build-images.sh} commits are there without a registry.
 *
 * <p>Two limits of this machine kind, both handled by the callers' container settings: it lacks
 * CAP_SYS_RESOURCE, so podman's default rlimits (raised nofile and nproc) make runc fail ("error
 * setting rlimit type 7: operation not permitted"): containers need explicit, lower ulimits; and
 * podman's default network is a CNI bridge it would create on the host (cni-podman0, iptables
 * chains, net.ipv4.ip_forward=1): containers must use network mode {@code none}.
 */
final class PodmanService implements AutoCloseable {
  private final Process process;
  private final Path socket;

  private PodmanService(Process process, Path socket) {
    this.process = process;
    this.socket = socket;
  }

  /**
   * Starts the service on {@code socket} (an existing stale socket file is replaced) and waits until
   * the socket exists, at most 30 s.
   *
   * @param log file for the service's output
   * @throws IOException if podman cannot be started
   */
  static PodmanService start(Path socket, Path log) throws IOException {
    Files.createDirectories(socket.getParent());
    Files.deleteIfExists(socket);
    Process p = new ProcessBuilder(List.of("podman", "system", "service", "--time=0", "unix://" + socket))
        .redirectInput(Redirect.from(Path.of("/dev/null").toFile()))
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    PodmanService service = new PodmanService(p, socket);
    try {
      await("podman API socket " + socket).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
          .until(() -> {
            if (!p.isAlive()) {
              throw new IllegalStateException("podman system service exited " + p.exitValue() + "; see " + log);
            }
            return Files.exists(socket);
          });
    } catch (RuntimeException e) {
      service.close();
      throw e;
    }
    return service;
  }

  /** Stops the service (SIGTERM, then SIGKILL after 10 s) and removes its socket. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      Files.deleteIfExists(socket);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      throw new IllegalStateException("cannot remove " + socket, e);
    }
  }
}
