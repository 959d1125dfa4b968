package io.cowherd.agent.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's HTTP endpoints (JDK HTTP server, one thread) on the host network: {@code /healthz}
 * (liveness: the slot controller's watches are healthy, or it is still starting), {@code /readyz}
 * (readiness: started) and, when given, {@code /metrics} (Prometheus text format).
 */
public final class AgentHttpServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AgentHttpServer.class);
  private static final String PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final HttpServer server;
  private final ExecutorService executor;

  private AgentHttpServer(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Binds {@code port} on all addresses and starts serving.
   *
   * @param started whether the slot controller has started
   * @param healthy whether its informers are running, synced and watching (asked once started)
   * @param metrics Prometheus text of all meters, or empty for no {@code /metrics}
   * @throws IOException when the port cannot be bound
   */
  public static AgentHttpServer start(int port, BooleanSupplier started, BooleanSupplier healthy,
      Optional<Supplier<String>> metrics) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(port), 16);
    ExecutorService executor = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("http").daemon(true).factory());
    server.setExecutor(executor);
    server.createContext("/healthz", exchange -> {
      boolean ok = !started.getAsBoolean() || healthy.getAsBoolean();
      respond(exchange, ok ? 200 : 503, "text/plain; charset=utf-8",
          !started.getAsBoolean() ? "starting\n" : ok ? "ok\n" : "slot informers unhealthy\n");
    });
    server.createContext("/readyz", exchange -> {
      boolean ok = started.getAsBoolean();
      respond(exchange, ok ? 200 : 503, "text/plain; charset=utf-8", ok ? "ready\n" : "starting\n");
    });
    metrics.ifPresent(scrape -> server.createContext("/metrics",
        exchange -> respond(exchange, 200, PROMETHEUS_CONTENT_TYPE, scrape.get())));
    server.start();
    LOG.info("serving /healthz, /readyz{} on port {}", metrics.isPresent() ? ", /metrics" : "", server.getAddress().getPort());
    return new AgentHttpServer(server, executor);
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

  private static void respond(HttpExchange exchange, int code, String contentType, String body) throws IOException {
    try (exchange) {
      if (!"GET".equals(exchange.getRequestMethod()) || !exchange.getRequestURI().getPath().equals(exchange.getHttpContext().getPath())) {
        exchange.sendResponseHeaders("GET".equals(exchange.getRequestMethod()) ? 404 : 405, -1);
        return;
      }
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", contentType);
      exchange.sendResponseHeaders(code, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }
}
