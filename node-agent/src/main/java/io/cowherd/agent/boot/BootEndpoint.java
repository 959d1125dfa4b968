package io.cowherd.agent.boot;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.cowherd.api.MacAddress;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The boot endpoint iPXE chains to: {@code GET /boot/v1/ipxe?mac=<mac>[&try=<n>][&pool=<ns>/<name>]},
 * plain HTTP (iPXE builds commonly lack TLS roots; the script carries no secret, and the AoE it
 * points at is unauthenticated layer 2 anyway), served by the node agent on the host network so a
 * PXE client on the boot segment reaches it at the node's address. JDK HTTP server
 * ({@code com.sun.net.httpserver}, as the agent's health endpoint): no extra dependency for one
 * GET route.
 *
 * <p>{@code GET /boot/v1/boot.ipxe} answers a fixed script that chains the first URL with the MAC
 * filled in by iPXE ({@link #FIRST_PATH}), for DHCP servers, which hand out one URL for all.
 *
 * <p>Answers, each an iPXE script ({@code text/plain}, at most {@link BootScripts#MAX_BYTES} bytes):
 * 200 with {@code sanboot aoe:e<shelf>.<slot>} for a MAC whose client holds a slot (and the stage
 * "script served" is recorded); 200 with echo + sleep + retry (powering off after {@link
 * BootScripts#MAX_TRIES} tries) for a MAC without one, and for a MAC whose slot moves to its
 * pool's image first ({@link StaleSlotGate}; under {@code OnReboot} the request is recorded); 400 for a request that is not exactly that
 * shape (malformed MAC, query longer than {@link #MAX_QUERY_CHARS}): nothing is looked up or
 * written; 429 when the client's address exceeds its rate; 404/405 for other paths and methods.
 * iPXE runs only 2xx bodies; for the others it shows its own HTTP error, the body is for people
 * (curl).
 */
public final class BootEndpoint implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BootEndpoint.class);
  /** The path that answers a MAC's script. */
  public static final String PATH = "/boot/v1/ipxe";
  /**
   * A fixed first script for DHCP servers to hand out as the boot file name (DHCP cannot put the
   * client's MAC into the URL; iPXE can): it chains {@link #PATH} with {@code ${net0/mac}}.
   */
  public static final String FIRST_PATH = "/boot/v1/boot.ipxe";
  /** Longest accepted raw query, in characters. */
  public static final int MAX_QUERY_CHARS = 256;
  private static final String CONTENT_TYPE = "text/plain; charset=us-ascii";

  private final HttpServer server;
  private final ExecutorService executor;
  private final BootDirectory directory;
  private final BootProgressRecorder progress;
  private final RateLimiter perAddress;
  private final Clock clock;

  private BootEndpoint(HttpServer server, ExecutorService executor, BootDirectory directory,
      BootProgressRecorder progress, RateLimiter perAddress, Clock clock) {
    this.server = server;
    this.executor = executor;
    this.directory = directory;
    this.progress = progress;
    this.perAddress = perAddress;
    this.clock = clock;
  }

  /**
   * Binds {@code address} and starts serving with {@code threads} worker threads.
   *
   * @param perAddress rate limit keyed by the client's IP address
   * @throws IOException when the address cannot be bound
   */
  public static BootEndpoint start(InetSocketAddress address, int threads, BootDirectory directory,
      BootProgressRecorder progress, RateLimiter perAddress, Clock clock) throws IOException {
    HttpServer server = HttpServer.create(address, 128);
    ExecutorService executor = Executors.newFixedThreadPool(threads,
        Thread.ofPlatform().name("boot-http-", 0).daemon(true).factory());
    server.setExecutor(executor);
    BootEndpoint endpoint = new BootEndpoint(server, executor, directory, progress, perAddress, clock);
    server.createContext(PATH, endpoint::handle);
    server.createContext(FIRST_PATH, exchange -> {
      boolean get = "GET".equals(exchange.getRequestMethod());
      boolean exact = FIRST_PATH.equals(exchange.getRequestURI().getRawPath());
      endpoint.reply(exchange, !get ? 405 : exact ? 200 : 404, !get ? BootScripts.error("only GET")
          : exact ? BootScripts.first() : BootScripts.error("no such path, use " + FIRST_PATH));
    });
    server.createContext("/", exchange -> endpoint.reply(exchange, 404, BootScripts.error("no such path, use " + PATH)));
    server.start();
    LOG.info("boot endpoint serving http://{}:{}{}?mac=${{net0/mac}}", address.getHostString(),
        server.getAddress().getPort(), PATH);
    return endpoint;
  }

  /** The bound port. */
  public int port() {
    return server.getAddress().getPort();
  }

  private void handle(HttpExchange exchange) throws IOException {
    if (!"GET".equals(exchange.getRequestMethod())) {
      reply(exchange, 405, BootScripts.error("only GET"));
      return;
    }
    if (!PATH.equals(exchange.getRequestURI().getRawPath())) {
      reply(exchange, 404, BootScripts.error("no such path, use " + PATH));
      return;
    }
    String address = exchange.getRemoteAddress().getAddress().getHostAddress();
    if (!perAddress.tryAcquire(address)) {
      reply(exchange, 429, BootScripts.error("too many requests from " + address));
      return;
    }
    String rawQuery = exchange.getRequestURI().getRawQuery();
    if (rawQuery == null || rawQuery.length() > MAX_QUERY_CHARS) {
      reply(exchange, 400, BootScripts.error("expected ?mac=<six hex pairs joined by :>, at most "
          + MAX_QUERY_CHARS + " characters"));
      return;
    }
    Optional<Map<String, String>> query = parseQuery(rawQuery);
    Optional<MacAddress> mac = query.flatMap(q -> MacAddress.parse(colonForm(q.get("mac"))));
    if (mac.isEmpty()) {
      reply(exchange, 400, BootScripts.error("malformed MAC in the boot URL: expected mac=<six hex pairs joined by :>,"
          + " as iPXE's ${net0/mac} gives"));
      return;
    }
    int tryNumber = parseTry(query.get().get("try"));
    if (tryNumber < 0) {
      reply(exchange, 400, BootScripts.error("try must be a number from 0 to 1000"));
      return;
    }
    BootDirectory.Answer answer;
    try {
      answer = directory.answer(mac.get(), Optional.ofNullable(query.get().get("pool")));
    } catch (RuntimeException e) {
      LOG.warn("boot lookup for {} failed", mac.get(), e);
      reply(exchange, 200, BootScripts.waitAndRetry(mac.get(), "lookup failed; trying again", 10, tryNumber));
      return;
    }
    switch (answer) {
      case BootDirectory.Boot boot -> {
        String script = BootScripts.sanboot(mac.get(), boot.target(), boot.namespace() + "/" + boot.client(),
            boot.hostname(), boot.kernelArgs());
        progress.scriptServed(boot.namespace(), boot.client(), clock.instant()); // queued: never waits for the API
        reply(exchange, 200, script);
      }
      case BootDirectory.Hold hold -> {
        if (hold.requestUpdate()) {
          progress.updateRequested(hold.namespace(), hold.client(), clock.instant()); // queued
        }
        reply(exchange, 200, BootScripts.waitAndRetry(mac.get(), hold.message(), hold.seconds(), tryNumber));
      }
      case BootDirectory.Wait wait -> reply(exchange, 200,
          BootScripts.waitAndRetry(mac.get(), wait.message(), wait.seconds(), tryNumber));
    }
  }

  /** Query parameters, each at most once; empty when a key repeats or a value does not decode. */
  /**
   * {@code 52-54-00-c0-de-01} (iPXE's {@code ${net0/mac:hexhyp}}, which the scripts send) as
   * {@code 52:54:00:c0:de:01}; anything else unchanged, for {@link MacAddress#parse} to judge. The
   * scripts cannot send colons in a relative URI: iPXE 1.0.0+git-20190125 takes everything before
   * the first colon as the URI scheme ("Could not start download: Operation not supported").
   */
  static String colonForm(String mac) {
    return mac != null && mac.indexOf(':') < 0 ? mac.replace('-', ':') : mac;
  }

  static Optional<Map<String, String>> parseQuery(String rawQuery) {
    Map<String, String> params = new HashMap<>();
    for (String pair : rawQuery.split("&", 16)) {
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        return Optional.empty();
      }
      try {
        String key = URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8);
        String value = URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
        if (params.put(key, value) != null) {
          return Optional.empty();
        }
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
    }
    return Optional.of(params);
  }

  private static int parseTry(String value) {
    if (value == null) {
      return 0;
    }
    if (!value.matches("[0-9]{1,4}")) {
      return -1;
    }
    int n = Integer.parseInt(value);
    return n <= 1000 ? n : -1;
  }

  private void reply(HttpExchange exchange, int code, String body) throws IOException {
    try (exchange) {
      byte[] bytes = body.getBytes(StandardCharsets.US_ASCII);
      exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
      exchange.getResponseHeaders().set("Cache-Control", "no-store");
      exchange.sendResponseHeaders(code, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
