package io.cowherd.agent.boot;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The node agent's boot endpoint with its Kubernetes parts: {@link KubernetesBootDirectory}
 * (informers, enrollment), {@link KubernetesBootProgress} (status.boot), {@link BootEndpoint}
 * (HTTP on all addresses of the host network, port {@code port}) and a {@link QueryWatch} on every
 * existing interface named by a pool (stage Queried).
 */
public final class BootFrontDoor implements AutoCloseable {
  /** Worker threads of the boot endpoint: lookups are cache reads, writes are queued. */
  public static final int THREADS = 4;
  /** Most client addresses whose rate is remembered. */
  public static final int MAX_TRACKED_ADDRESSES = 4096;

  /** How often the interfaces of the pools are compared with those watched for AoE queries. */
  public static final java.time.Duration INTERFACE_CHECK = java.time.Duration.ofSeconds(10);

  private final KubernetesBootDirectory directory;
  private final KubernetesBootProgress progress;
  private final BootEndpoint endpoint;
  private final QueryWatch queries;
  private final java.util.concurrent.ScheduledExecutorService checks;
  private final java.util.concurrent.atomic.AtomicReference<
      java.util.function.BiConsumer<io.cowherd.api.MacAddress, java.time.Instant>> onQuery;

  private BootFrontDoor(KubernetesBootDirectory directory, KubernetesBootProgress progress, BootEndpoint endpoint,
      QueryWatch queries, java.util.concurrent.ScheduledExecutorService checks,
      java.util.concurrent.atomic.AtomicReference<java.util.function.BiConsumer<io.cowherd.api.MacAddress,
          java.time.Instant>> onQuery) {
    this.onQuery = onQuery;
    this.directory = directory;
    this.progress = progress;
    this.endpoint = endpoint;
    this.queries = queries;
    this.checks = checks;
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
    return start(client, servedNamespace, nodeName, null, port, requestsPerSecond);
  }

  /**
   * {@link #start(KubernetesClient, Predicate, String, int, double)} listening on {@code address}
   * only (null: every host address).
   */
  public static BootFrontDoor start(KubernetesClient client, Predicate<String> servedNamespace, String nodeName,
      java.net.InetAddress address, int port, double requestsPerSecond) throws IOException {
    Clock clock = Clock.systemUTC();
    KubernetesBootDirectory directory = KubernetesBootDirectory.start(client, servedNamespace, nodeName, clock);
    KubernetesBootProgress progress = new KubernetesBootProgress(client, nodeName);
    RateLimiter limiter = new RateLimiter(requestsPerSecond, Math.max(5, requestsPerSecond * 10),
        MAX_TRACKED_ADDRESSES, clock);
    BootEndpoint endpoint = BootEndpoint.start(address == null ? new InetSocketAddress(port)
        : new InetSocketAddress(address, port), THREADS, directory, progress, limiter, clock);
    java.util.concurrent.atomic.AtomicReference<java.util.function.BiConsumer<io.cowherd.api.MacAddress, java.time.Instant>>
        onQuery = new java.util.concurrent.atomic.AtomicReference<>((mac, at) -> { });
    QueryWatch queries = new QueryWatch(io.cowherd.aoe.net.RawSocket::open, (mac, at) -> {
      onQuery.get().accept(mac, at);
      directory.clientOf(mac).ifPresent(c -> progress.queried(c.get(0), c.get(1), at));
    }, clock);
    java.util.concurrent.ScheduledExecutorService checks = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("aoe-query-interfaces").daemon(true).factory());
    checks.scheduleWithFixedDelay(() -> directory.poolInterfaces().stream()
            .filter(iface -> java.nio.file.Files.isDirectory(java.nio.file.Path.of("/sys/class/net", iface)))
            .forEach(queries::watch),
        0, INTERFACE_CHECK.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
    return new BootFrontDoor(directory, progress, endpoint, queries, checks, onQuery);
  }

  /**
   * Also tells {@code listener} of each Query Config seen (before its stage Queried is recorded),
   * e.g. {@link IoStageReporter#queried}.
   */
  public void onQuery(java.util.function.BiConsumer<io.cowherd.api.MacAddress, java.time.Instant> listener) {
    onQuery.set(listener);
  }

  /**
   * The I/O stage (Queried, Reading or Writing) this node recorded for the client known by {@code
   * mac} before, if any: an agent restarting while its client is quiet then still notices the
   * silence ({@link BootStages#seed}).
   */
  public Optional<BootStages.Stage> recordedIoStage(io.cowherd.api.MacAddress mac, String nodeName) {
    return directory.bootOf(mac).filter(b -> nodeName.equals(b.getNode())).map(b -> b.getStage())
        .filter(s -> s.equals("Queried") || s.equals("Reading") || s.equals("Writing")).map(BootStages.Stage::valueOf);
  }

  /**
   * Records a stage the client known by {@code mac} shows on the data path ({@link
   * KubernetesBootProgress#ioStage}); nothing when no client in the served namespaces has the MAC.
   */
  public void recordIoStage(io.cowherd.api.MacAddress mac, BootStages.Change change) {
    directory.clientOf(mac).ifPresent(c -> progress.ioStage(c.get(0), c.get(1), change.stage(), change.since(),
        change.lastRead(), change.lastWrite()));
  }

  /** The bound port. */
  public int port() {
    return endpoint.port();
  }

  @Override
  public void close() {
    endpoint.close();
    checks.shutdownNow();
    queries.close();
    progress.close();
    directory.close();
  }
}
