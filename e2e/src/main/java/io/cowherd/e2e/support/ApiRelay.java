package io.cowherd.e2e.support;

import io.cowherd.aoe.net.NetNs;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Makes the lab's API server, which listens on the host's loopback only ({@link
 * ControlPlane#BIND_ADDRESS}), reachable at the same address and port inside a simulated host's
 * network namespace, so the lab's kubeconfig (and its server certificate for 127.0.0.1) works
 * there unchanged: {@code socat} listens on a Unix socket in the host namespace and connects to the
 * API server; a second {@code socat}, run in the namespace by {@code ip netns exec}, listens on
 * {@code 127.0.0.1:<port>} there and connects to that socket. No address or route is added
 * anywhere; both processes end with {@link #close()}.
 */
public final class ApiRelay implements AutoCloseable {
  private static final Duration UP = Duration.ofSeconds(20);
  private final ManagedProcess hostSide;
  private final ManagedProcess namespaceSide;

  private ApiRelay(ManagedProcess hostSide, ManagedProcess namespaceSide) {
    this.hostSide = hostSide;
    this.namespaceSide = namespaceSide;
  }

  /**
   * Starts the relay of {@code 127.0.0.1:port} into {@code netns} through Unix socket {@code
   * socket}; logs go to {@code logDir}. Returns once a TCP connection inside the namespace succeeds.
   *
   * @throws IllegalStateException when socat is missing or the relay does not come up within 20 s
   */
  public static ApiRelay into(String netns, int port, Path socket, Path logDir) {
    ManagedProcess host = ManagedProcess.start("api-relay-host", List.of("socat",
        "UNIX-LISTEN:" + socket + ",fork,mode=600", "TCP:" + ControlPlane.BIND_ADDRESS + ":" + port),
        Map.of(), logDir.resolve("api-relay-host-" + netns + ".log"));
    ManagedProcess inside = null;
    try {
      awaitUp("relay socket " + socket, () -> Files.exists(socket), host);
      inside = ManagedProcess.start("api-relay-" + netns, List.of("ip", "netns", "exec", netns, "socat",
          "TCP-LISTEN:" + port + ",bind=" + ControlPlane.BIND_ADDRESS + ",reuseaddr,fork", "UNIX-CONNECT:" + socket),
          Map.of(), logDir.resolve("api-relay-" + netns + ".log"));
      awaitUp("API relay in " + netns, () -> NetNs.callIn(netns, () -> {
        try (Socket s = new Socket(ControlPlane.BIND_ADDRESS, port)) {
          return true;
        } catch (IOException e) {
          return false;
        }
      }), inside);
      return new ApiRelay(host, inside);
    } catch (RuntimeException e) {
      if (inside != null) {
        inside.close();
      }
      host.close();
      throw e;
    }
  }

  private static void awaitUp(String what, java.util.concurrent.Callable<Boolean> up, ManagedProcess process) {
    org.awaitility.Awaitility.await(what).atMost(UP).pollInterval(Duration.ofMillis(50))
        .failFast(process + " exited", () -> !process.isAlive())
        .until(up);
  }

  @Override
  public void close() {
    namespaceSide.close();
    hostSide.close();
  }
}
