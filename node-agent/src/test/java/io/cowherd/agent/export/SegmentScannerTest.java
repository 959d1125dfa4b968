package io.cowherd.agent.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.aoe.initiator.DiscoveredTarget;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** One broadcast per interface, shared by every slot on it; own MAC ignored. */
class SegmentScannerTest {
  private static final MacAddress OURS = MacAddress.parse("02:00:00:00:00:01");
  private static final MacAddress ROGUE = MacAddress.parse("02:00:00:00:00:99");

  /** A clock the test moves. */
  private static final class MutableClock extends Clock {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  private final MutableClock clock = new MutableClock();
  private final AtomicInteger probes = new AtomicInteger();
  private final List<DiscoveredTarget> answers = new ArrayList<>();

  private SegmentScanner scanner() {
    return new SegmentScanner((iface, wait) -> {
      probes.incrementAndGet();
      return new SegmentScan(iface, OURS, answers, clock.instant());
    }, clock, Duration.ofMillis(400));
  }

  private static DiscoveredTarget answer(int shelf, int slot, MacAddress mac) {
    return new DiscoveredTarget(new AoeTarget(shelf, slot), mac, 16, 2, 0x4019, "");
  }

  private static VbladeTarget target(int slot) {
    return new VbladeTarget(7, slot, "eth1", Path.of("/dev/mapper/x-" + slot));
  }

  @Test
  void answersFromTheInterfacesOwnMacAreNotDuplicates() {
    answers.add(answer(7, 0, OURS));
    answers.add(answer(7, 1, ROGUE));
    answers.add(answer(7, 1, OURS));
    SegmentScanner s = scanner();
    assertThat(s.duplicateOf(target(0), SegmentScanner.BEFORE_START)).isEmpty();
    DuplicateExporter dup = s.duplicateOf(target(1), SegmentScanner.BEFORE_START).orElseThrow();
    assertThat(dup.macs()).containsExactly(ROGUE);
    assertThat(dup.message())
        .isEqualTo("another exporter of e7.1 answers from MAC 02:00:00:00:00:99 on eth1; refusing to export a duplicate");
    assertThat(s.duplicateOf(new VbladeTarget(8, 1, "eth1", Path.of("/x")), SegmentScanner.BEFORE_START)).isEmpty();
  }

  @Test
  void twentyStartsWithinTheFirstHalfOfTheFreshnessWindowShareOneBroadcast() {
    SegmentScanner s = scanner();
    for (int slot = 0; slot < 20; slot++) {
      s.duplicateOf(target(slot), SegmentScanner.BEFORE_START);
      clock.now = clock.now.plusMillis(50);
    }
    assertThat(probes.get()).isEqualTo(1);
    assertThat(s.scansOf("eth1")).isEqualTo(1);
  }

  @Test
  void aStartInTheOlderHalfOfItsWindowGetsTheKnownScanAndSendsTheNextOneAhead() {
    SegmentScanner s = scanner();
    s.duplicateOf(target(0), SegmentScanner.BEFORE_START);
    clock.now = clock.now.plusMillis(1500);
    Instant first = clock.now.minusMillis(1500);
    s.duplicateOf(target(1), SegmentScanner.BEFORE_START);
    await().atMost(Duration.ofSeconds(10)).until(() -> s.scansOf("eth1") == 2);
    assertThat(probes.get()).as("one refresh ahead, not one per caller").isEqualTo(2);
    assertThat(s.scan("eth1", SegmentScanner.BEFORE_START).scannedAt()).isAfter(first);
  }

  @Test
  void theRecheckOfRunningExportersNeverSendsAScanAhead() throws InterruptedException {
    SegmentScanner s = scanner();
    s.duplicateOf(target(0), SegmentScanner.WHILE_RUNNING);
    clock.now = clock.now.plusSeconds(25);
    s.duplicateOf(target(0), SegmentScanner.WHILE_RUNNING);
    Thread.sleep(200); // nothing may happen: a window for a background scan that must not come
    assertThat(probes.get()).isEqualTo(1);
  }

  @Test
  void aScanOlderThanTheCallersMaxAgeIsRepeated() {
    SegmentScanner s = scanner();
    s.duplicateOf(target(0), SegmentScanner.BEFORE_START);
    clock.now = clock.now.plusSeconds(3);
    s.duplicateOf(target(0), SegmentScanner.WHILE_RUNNING);
    assertThat(probes.get()).as("3 s old is fresh enough for a running exporter").isEqualTo(1);
    s.duplicateOf(target(0), SegmentScanner.BEFORE_START);
    assertThat(probes.get()).as("but not before a start").isEqualTo(2);
    clock.now = clock.now.plusSeconds(31);
    s.duplicateOf(target(0), SegmentScanner.WHILE_RUNNING);
    assertThat(probes.get()).isEqualTo(3);
  }

  @Test
  void eachInterfaceHasItsOwnScan() {
    SegmentScanner s = scanner();
    s.duplicateOf(target(0), SegmentScanner.BEFORE_START);
    s.duplicateOf(new VbladeTarget(7, 0, "eth2", Path.of("/x")), SegmentScanner.BEFORE_START);
    assertThat(s.scansOf("eth1")).isEqualTo(1);
    assertThat(s.scansOf("eth2")).isEqualTo(1);
  }

  @Test
  void concurrentCallersWaitForTheScanInFlightAndShareIt() throws Exception {
    CountDownLatch inProbe = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    SegmentScanner s = new SegmentScanner((iface, wait) -> {
      probes.incrementAndGet();
      inProbe.countDown();
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return new SegmentScan(iface, OURS, List.of(answer(7, 5, ROGUE)), clock.instant());
    }, clock, Duration.ofMillis(400));
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int slot = 0; slot < 8; slot++) {
        int n = slot;
        results.add(pool.submit(() -> s.duplicateOf(target(n), SegmentScanner.BEFORE_START).isPresent()));
      }
      assertThat(inProbe.await(10, TimeUnit.SECONDS)).isTrue();
      release.countDown();
      List<Boolean> found = new ArrayList<>();
      for (Future<Boolean> f : results) {
        found.add(f.get(10, TimeUnit.SECONDS));
      }
      assertThat(probes.get()).isEqualTo(1);
      assertThat(found).containsExactly(false, false, false, false, false, true, false, false);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aProbeFailureIsASegmentScanExceptionAndIsNotCached() {
    SegmentScanner s = new SegmentScanner((iface, wait) -> {
      probes.incrementAndGet();
      throw new IOException("socket(AF_PACKET, SOCK_RAW, ETH_P_AOE) failed: EPERM");
    }, clock, Duration.ofMillis(400));
    assertThatThrownBy(() -> s.duplicateOf(target(0), SegmentScanner.BEFORE_START))
        .isInstanceOf(SegmentScanException.class)
        .hasMessage("cannot check eth1 for other exporters (broadcast Query Config): "
            + "socket(AF_PACKET, SOCK_RAW, ETH_P_AOE) failed: EPERM");
    assertThatThrownBy(() -> s.duplicateOf(target(0), SegmentScanner.BEFORE_START)).isInstanceOf(SegmentScanException.class);
    assertThat(probes.get()).isEqualTo(2);
  }
  @Test
  void aMissingInterfaceHasNoDuplicatesAndIsProbedAgainNextTime() {
    SegmentScanner s = new SegmentScanner((iface, wait) -> {
      probes.incrementAndGet();
      throw new InterfaceMissingException("interface " + iface + " does not exist", null);
    }, clock, Duration.ofMillis(400));
    assertThat(s.duplicateOf(target(0), SegmentScanner.BEFORE_START)).isEmpty();
    assertThat(s.duplicateOf(target(0), SegmentScanner.BEFORE_START)).isEmpty();
    assertThat(probes.get()).isEqualTo(2);
  }
}
