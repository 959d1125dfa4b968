package io.cowherd.agent.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.api.MacAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The boot endpoint over real HTTP on loopback, with a directory given by the test (the
 * Kubernetes-backed one is exercised by the e2e {@code BootFrontDoorE2E}): strict MAC parsing,
 * bounded answers, rate limit, the sanboot and retry scripts, the stage record, and latency under
 * 100 concurrent requests.
 */
class BootEndpointTest {
  private static final MacAddress KNOWN = MacAddress.parse("52:54:00:12:34:56").orElseThrow();
  private final Map<MacAddress, BootDirectory.Answer> answers = new ConcurrentHashMap<>(Map.of(
      KNOWN, new BootDirectory.Boot("lab", "desk", "e7.3", "desk-1", "console=ttyS0")));
  private final AtomicInteger lookups = new AtomicInteger();
  private final List<String> served = new CopyOnWriteArrayList<>();
  private final List<String> updateRequests = new CopyOnWriteArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private BootEndpoint endpoint;

  private BootEndpoint start(RateLimiter limiter) throws Exception {
    BootDirectory directory = (mac, pool) -> {
      lookups.incrementAndGet();
      return answers.getOrDefault(mac, new BootDirectory.Wait("unknown MAC and no pool enrols it automatically", 30));
    };
    BootProgressRecorder recorder = new BootProgressRecorder() {
      @Override
      public void scriptServed(String namespace, String name, Instant when) {
        served.add(namespace + "/" + name);
      }

      @Override
      public void queried(String namespace, String name, Instant when) {
        throw new AssertionError("the endpoint records no queries");
      }

      @Override
      public void updateRequested(String namespace, String name, Instant when) {
        updateRequests.add(namespace + "/" + name);
      }
    };
    endpoint = BootEndpoint.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4, directory, recorder,
        limiter, Clock.systemUTC());
    return endpoint;
  }

  @AfterEach
  void stop() {
    if (endpoint != null) {
      endpoint.close();
    }
  }

  @Test
  void aKnownMacGetsTheSanbootScriptOfItsSlotAndTheStageIsRecorded() throws Exception {
    start(generous());
    HttpResponse<String> r = get("/boot/v1/ipxe?mac=52:54:00:12:34:56");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).startsWith("#!ipxe\n").contains("sanboot aoe:e7.3 || goto failed\n")
        .contains("set hostname desk-1\n").contains("set cowherd-args console=ttyS0\n");
    assertThat(served).containsExactly("lab/desk");
    // Upper case is the same MAC.
    assertThat(get("/boot/v1/ipxe?mac=52:54:00:12:34:56".toUpperCase().replace("/BOOT/V1/IPXE?MAC", "/boot/v1/ipxe?mac"))
        .body()).contains("sanboot aoe:e7.3");
    // iPXE's ${net0/mac:hexhyp}, which the scripts send (a colon in a relative URI breaks iPXE), is the same MAC.
    assertThat(get("/boot/v1/ipxe?mac=52-54-00-12-34-56").body()).contains("sanboot aoe:e7.3");
  }

  @Test
  void aHeldMacGetsARetryInsteadOfItsScriptAndAnUpdateRequestOnlyWhenAsked() throws Exception {
    MacAddress stale = MacAddress.parse("52:54:00:12:34:57").orElseThrow();
    MacAddress rebuilding = MacAddress.parse("52:54:00:12:34:58").orElseThrow();
    answers.put(stale, new BootDirectory.Hold("lab", "old", "this machine moves to the new pool image", 3, true));
    answers.put(rebuilding, new BootDirectory.Hold("lab", "busy", "the disk of this machine is being rebuilt", 3, false));
    start(generous());

    assertThat(get("/boot/v1/ipxe?mac=52:54:00:12:34:57").body()).contains("moves to the new pool image")
        .contains("sleep 3\n").contains("try=1").doesNotContain("sanboot");
    assertThat(get("/boot/v1/ipxe?mac=52:54:00:12:34:58").body()).contains("being rebuilt").doesNotContain("sanboot");
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(updateRequests).containsExactly("lab/old"));
    assertThat(served).as("no script served while held").isEmpty();
  }

  @Test
  void theFirstScriptChainsTheMacsScriptWithTheMacFilledInByIpxe() throws Exception {
    start(generous());
    HttpResponse<String> r = get("/boot/v1/boot.ipxe");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("#!ipxe\nchain --replace --autofree ipxe?mac=${net0/mac:hexhyp}&try=0\n");
    assertThat(lookups).hasValue(0);
  }

  @Test
  void anUnknownMacGetsAMessageAndARetryThatPowersOffInTheEnd() throws Exception {
    start(generous());
    HttpResponse<String> r = get("/boot/v1/ipxe?mac=52:54:00:00:00:01");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).startsWith("#!ipxe\n").contains("echo cowherd: 52:54:00:00:00:01: unknown MAC")
        .contains("sleep 30\n").contains("chain --replace --autofree ipxe?mac=${net0/mac:hexhyp}&try=1\n")
        .doesNotContain("sanboot");
    assertThat(get("/boot/v1/ipxe?mac=52:54:00:00:00:01&try=" + (BootScripts.MAX_TRIES - 1)).body())
        .contains("poweroff || exit 1").doesNotContain("chain");
    assertThat(served).isEmpty();
  }

  @Test
  void malformedRequestsGet400WithAnIpxeMessageAndNothingIsLookedUp() throws Exception {
    start(generous());
    for (String query : List.of("", "?mac=", "?mac=52:54:00:12:34", "?mac=52-54-00:12:34:56", "?mac=52-54-00-12-34", "?mac=01:00:5e:00:00:01",
        "?mac=52:54:00:12:34:56&mac=52:54:00:12:34:57", "?mac=52:54:00:12:34:56%0a", "?mac=ff:ff:ff:ff:ff:ff",
        "?mac=52:54:00:12:34:56&try=x", "?mac=52:54:00:12:34:56&pool=" + "p".repeat(300), "?mac=52%3A54%3A00%3A12%3A34%3A5")) {
      HttpResponse<String> r = get("/boot/v1/ipxe" + query);
      assertThat(r.statusCode()).as(query).isEqualTo(400);
      assertThat(r.body()).as(query).startsWith("#!ipxe\necho cowherd: ").doesNotContain("$").doesNotContain("sanboot");
    }
    assertThat(lookups).hasValue(0);
    assertThat(get("/boot/v1/other?mac=52:54:00:12:34:56").statusCode()).isEqualTo(404);
    assertThat(http.send(HttpRequest.newBuilder(uri("/boot/v1/ipxe?mac=52:54:00:12:34:56"))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
        .isEqualTo(405);
    assertThat(served).isEmpty();
  }

  @Test
  void messagesCannotInjectIpxeCommandsAndAnswersAreBounded() throws Exception {
    answers.put(MacAddress.parse("52:54:00:00:00:02").orElseThrow(),
        new BootDirectory.Wait("x ${net0/ip} # || shell\nshell " + "y".repeat(10_000), 5));
    start(generous());
    HttpResponse<String> r = get("/boot/v1/ipxe?mac=52:54:00:00:00:02");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body().lines()).filteredOn(l -> l.startsWith("echo")).allSatisfy(l ->
        assertThat(l).doesNotContain("$").doesNotContain("#").doesNotContain("|"));
    assertThat(r.body().lines()).noneMatch(l -> l.equals("shell") || l.startsWith("shell "));
    assertThat(r.body().length()).isLessThanOrEqualTo(BootScripts.MAX_BYTES);
  }

  @Test
  void anAddressOverItsRateGets429() throws Exception {
    start(new RateLimiter(0.001, 3, 1024, Clock.systemUTC()));
    List<Integer> codes = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      codes.add(get("/boot/v1/ipxe?mac=52:54:00:12:34:56").statusCode());
    }
    assertThat(codes).containsExactly(200, 200, 200, 429, 429);
    assertThat(lookups).hasValue(3);
  }

  /** Prints the latency of 100 requests sent at once (4 server threads; measured, not asserted beyond a sanity bound). */
  @Test
  void hundredConcurrentRequestsAreAllAnswered() throws Exception {
    start(generous());
    get("/boot/v1/ipxe?mac=52:54:00:12:34:56"); // warm-up
    int n = 100;
    ExecutorService pool = Executors.newFixedThreadPool(n);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<long[]>> results = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String mac = i % 2 == 0 ? "52:54:00:12:34:56" : String.format("52:54:00:00:01:%02x", i);
      results.add(pool.submit(() -> {
        go.await();
        long t0 = System.nanoTime();
        HttpResponse<String> r = get("/boot/v1/ipxe?mac=" + mac);
        return new long[] {r.statusCode(), System.nanoTime() - t0};
      }));
    }
    Instant start = Instant.now();
    go.countDown();
    List<Long> micros = new ArrayList<>();
    for (Future<long[]> f : results) {
      long[] r = f.get();
      assertThat(r[0]).isEqualTo(200);
      micros.add(r[1] / 1000);
    }
    Duration wall = Duration.between(start, Instant.now());
    pool.shutdown();
    Collections.sort(micros);
    System.out.printf("[boot-endpoint] %d concurrent requests: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms,"
        + " all answered in %d ms%n", n, micros.get(n / 2) / 1000.0, micros.get(n * 9 / 10) / 1000.0,
        micros.get(n * 99 / 100) / 1000.0, micros.get(n - 1) / 1000.0, wall.toMillis());
    assertThat(served).hasSize(n / 2 + 1);
    assertThat(micros.get(n - 1)).isLessThan(10_000_000L);
  }

  private static RateLimiter generous() {
    return new RateLimiter(10_000, 10_000, 1024, Clock.systemUTC());
  }

  private HttpResponse<String> get(String pathAndQuery) throws Exception {
    return http.send(HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private URI uri(String pathAndQuery) {
    return URI.create("http://127.0.0.1:" + endpoint.port() + pathAndQuery);
  }
}
