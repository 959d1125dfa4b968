package io.cowherd.agent.boot;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.function.Predicate;

/**
 * The node agent's boot endpoint with its Kubernetes parts: {@link KubernetesBootDirectory}
 * (informers, enrollment), {@link KubernetesBootProgress} (status.boot) and {@link BootEndpoint}
 * (HTTP on all addresses of the host network, port {@code port}).
 */
public final class BootFrontDoor implements AutoCloseable {
  /** Worker threads of the boot endpoint: lookups are cache reads, writes are queued. */
  public static final int THREADS = 4;
  /** Most client addresses whose rate is remembered. */
  public static final int MAX_TRACKED_ADDRESSES = 4096;

  private final KubernetesBootDirectory directory;
  private final KubernetesBootProgress progress;
  private final BootEndpoint endpoint;

  private BootFrontDoor(KubernetesBootDirectory directory, KubernetesBootProgress progress, BootEndpoint endpoint) {
    this.directory = directory;
    this.progress = progress;
    this.endpoint = endpoint;
  }

  /**
   * Starts the informers (waiting for their first sync) and then the HTTP endpoint.
   *
   * @param servedNamespace namespaces whose clients and pools this agent answers for
   * @param nodeName this node (enrolled-by label, status.boot.node)
   * @param port TCP port on all host addresses
   * @param requestsPerSecond per client address; bursts of 10 times that (at least 5)
   * @throws IOException when the port cannot be bound
   */
  public static BootFrontDoor start(KubernetesClient client, Predicate<String> servedNamespace, String nodeName,
      int port, double requestsPerSecond) throws IOException {
    Clock clock = Clock.systemUTC();
    KubernetesBootDirectory directory = KubernetesBootDirectory.start(client, servedNamespace, nodeName, clock);
    KubernetesBootProgress progress = new KubernetesBootProgress(client, nodeName);
    RateLimiter limiter = new RateLimiter(requestsPerSecond, Math.max(5, requestsPerSecond * 10),
        MAX_TRACKED_ADDRESSES, clock);
    BootEndpoint endpoint = BootEndpoint.start(new InetSocketAddress(port), THREADS, directory, progress, limiter, clock);
    return new BootFrontDoor(directory, progress, endpoint);
  }

  /** The bound port. */
  public int port() {
    return endpoint.port();
  }

  @Override
  public void close() {
    endpoint.close();
    progress.close();
    directory.close();
  }
}
