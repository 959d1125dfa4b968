package io.cowherd.agent.jvm;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When the agent gives its heap back: quiet after growth, never in a burst, once per burst. */
class HeapTrimTest {
  private static final long SECOND = 1_000_000_000L;
  private static final long MIB = 1L << 20;

  private final AtomicLong cpu = new AtomicLong();
  private final AtomicLong time = new AtomicLong();
  private final AtomicLong used = new AtomicLong(30 * MIB);
  private final AtomicLong usedAfter = new AtomicLong(0);
  private final AtomicLong collections = new AtomicLong();
  private final HeapTrim trim = new HeapTrim(cpu::get, time::get,
      () -> new HeapTrim.OldGeneration(used.get(), usedAfter.get()), () -> {
        collections.incrementAndGet();
        used.set(20 * MIB);
        usedAfter.set(20 * MIB);
      }, 1.0);

  /** Advances 10 s in which the process used {@code cpuShare} of a core. */
  private boolean tick(double cpuShare) {
    time.addAndGet(10 * SECOND);
    cpu.addAndGet((long) (cpuShare * 10 * SECOND));
    return trim.tick();
  }

  @Test
  void collectsOnceAfterTwoQuietTicksFollowingGrowth() {
    assertThat(tick(0.9)).isFalse(); // a bring-up
    assertThat(tick(0.01)).isFalse(); // first quiet tick
    assertThat(tick(0.01)).isTrue();
    assertThat(collections.get()).isEqualTo(1);
    assertThat(tick(0.01)).isFalse(); // nothing grew since
    assertThat(tick(0.01)).isFalse();
    assertThat(trim.trims()).isEqualTo(1);
  }

  @Test
  void neverCollectsWhileBusy() {
    for (int i = 0; i < 20; i++) {
      assertThat(tick(i % 2 == 0 ? 0.5 : 0.01)).as("tick %d", i).isFalse(); // busy every other tick
    }
    assertThat(collections.get()).isZero();
  }

  @Test
  void smallGrowthIsLeftToTheCollector() {
    used.set(20 * MIB);
    usedAfter.set(14 * MIB); // 6 MiB grown: below the threshold
    for (int i = 0; i < 5; i++) {
      assertThat(tick(0.0)).isFalse();
    }
    used.set(23 * MIB); // now 9 MiB
    assertThat(tick(0.0)).isTrue();
  }

  @Test
  void aCollectionThatChangesNothingTurnsTheTrimOff() {
    HeapTrim disabled = new HeapTrim(cpu::get, time::get,
        () -> new HeapTrim.OldGeneration(used.get(), usedAfter.get()), collections::incrementAndGet, 1.0); // -XX:+DisableExplicitGC
    for (int i = 0; i < 10; i++) {
      time.addAndGet(10 * SECOND);
      assertThat(disabled.tick()).isFalse();
    }
    assertThat(collections.get()).as("asked once, then never again").isOne();
    assertThat(disabled.trims()).isZero();
  }

  @Test
  void underACpuLimitQuietIsAShareOfTheLimit() {
    HeapTrim limited = new HeapTrim(cpu::get, time::get,
        () -> new HeapTrim.OldGeneration(used.get(), usedAfter.get()), collections::incrementAndGet, 0.1);
    for (int i = 0; i < 10; i++) { // throttled at its limit of 0.1 core: 5% of one core, busy for it
      time.addAndGet(10 * SECOND);
      cpu.addAndGet((long) (0.05 * 10 * SECOND));
      assertThat(limited.tick()).isFalse();
    }
    assertThat(collections.get()).isZero();
  }

  @Test
  void readsTheCgroupCpuLimit(@TempDir Path dir) throws Exception {
    Path cpuMax = dir.resolve("cpu.max");
    Files.writeString(cpuMax, "50000 100000\n");
    assertThat(HeapTrim.cpuLimitCores(cpuMax)).hasValue(0.5);
    Files.writeString(cpuMax, "max 100000\n");
    assertThat(HeapTrim.cpuLimitCores(cpuMax)).isEmpty();
    assertThat(HeapTrim.cpuLimitCores(dir.resolve("missing"))).isEmpty();
  }

  @Test
  void findsTheOldGenerationOfThisJvm() {
    assertThat(HeapTrim.forThisJvm()).as("HotSpot names its old generation 'Old' or 'Tenured'").isPresent();
  }
}
