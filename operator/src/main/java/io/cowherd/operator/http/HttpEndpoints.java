package io.cowherd.operator.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's HTTP endpoints on one port (JDK HTTP server, one thread): {@code /healthz}
 * (liveness), {@code /readyz} (readiness), and {@code /metrics} (Prometheus text format) when
 * metrics are on. Anything else is 404; only GET and HEAD are answered.
 */
public final class HttpEndpoints implements AutoCloseable {
  /** Content type of the Prometheus text exposition format 0.0.4. */
  public static final String PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
  private static final Logger log = LoggerFactory.getLogger(HttpEndpoints.class);

  private final HttpServer server;
  private final ExecutorService executor;

  private HttpEndpoints(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Binds {@code port} on all addresses and starts serving.
   *
   * @param port TCP port; 0 picks a free one (see {@link #port()})
   * @param health liveness and readiness
   * @param metrics the registry to scrape, or empty to serve no {@code /metrics}
   * @throws IOException when the port cannot be bound
   */
  public static HttpEndpoints start(int port, OperatorHealth health, Optional<PrometheusMeterRegistry> metrics)
      throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(port), 16);
    ExecutorService executor = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("http").daemon(true).factory());
    server.setExecutor(executor);
    server.createContext("/healthz", exchange -> answer(exchange, health::liveness));
    server.createContext("/readyz", exchange -> answer(exchange, health::readiness));
    metrics.ifPresent(registry -> server.createContext("/metrics",
        exchange -> respond(exchange, 200, PROMETHEUS_CONTENT_TYPE, registry.scrape())));
    server.start();
    log.info("Serving /healthz, /readyz{} on port {}", metrics.isPresent() ? ", /metrics" : "", server.getAddress().getPort());
    return new HttpEndpoints(server, executor);
  }

  /** The bound port. */
  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  private static void answer(HttpExchange exchange, Supplier<HealthStatus> check) throws IOException {
    HealthStatus status = check.get();
    respond(exchange, status.ok() ? 200 : 503, "text/plain; charset=utf-8", status.message() + "\n");
  }

  private static void respond(HttpExchange exchange, int code, String contentType, String body) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      if (!"GET".equals(method) && !"HEAD".equals(method)) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      String path = exchange.getRequestURI().getPath();
      if (!path.equals(exchange.getHttpContext().getPath())) {
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", contentType);
      if ("HEAD".equals(method)) {
        exchange.sendResponseHeaders(code, -1);
        return;
      }
      exchange.sendResponseHeaders(code, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }
}
