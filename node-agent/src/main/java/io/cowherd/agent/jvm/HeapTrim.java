package io.cowherd.agent.jvm;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives the heap back after a burst of work: once the agent has been quiet for {@link #QUIET_TICKS}
 * ticks and its old generation holds at least {@link #MIN_GARBAGE_BYTES} more than it kept after
 * its last full collection, one full collection ({@code System.gc()}), after which the serial
 * collector shrinks the old generation to {@code -XX:MaxHeapFreeRatio} and returns the pages.
 *
 * <p>Why: the agent runs the serial collector (no GC threads, no remembered sets, and the fastest
 * restart; docs/design-notes.md "JVM settings"). Serial collects the old generation only when it is
 * full, so after a bring-up of 255 slots it stays committed at its peak, full of garbage promoted
 * during the burst, and RSS with it (issue 11: 34.5 of 34.6 MiB used, live ≈ 20 MiB). G1's periodic
 * collection (JEP 346) does this for G1, and no flag does it for Serial. The cost is one full
 * collection of a heap of tens of MiB (tens of milliseconds, on this thread) per burst: at steady
 * state the old generation grows by a few MiB an hour, so a trim is rare.
 *
 * <p>Quiet means the process used less than {@link #QUIET_CPU_SHARE} of one core over a tick
 * ({@code OperatingSystemMXBean.getProcessCpuTime}), or of its CPU limit when that is below one core
 * (cgroup v2 {@code cpu.max} of the container, Linux {@code Documentation/admin-guide/cgroup-v2.rst}):
 * a collection never lands in a bring-up, teardown or adoption, also not in one throttled to a
 * limit of 0.1 core, where every tick would otherwise look quiet. The old generation is the heap memory pool whose name contains "Old" or
 * "Tenured" (HotSpot: Serial "Tenured Gen", G1 "G1 Old Gen", Parallel "PS Old Gen"); its
 * collection usage ({@link MemoryPoolMXBean#getCollectionUsage}) is its use after its most recent
 * collection, by this class or by the JVM.
 */
public final class HeapTrim {
  private static final Logger LOG = LoggerFactory.getLogger(HeapTrim.class);

  /** How often the agent looks. */
  public static final Duration TICK = Duration.ofSeconds(10);
  /** Consecutive quiet ticks before a trim. */
  public static final int QUIET_TICKS = 2;
  /** Share of one core under which a tick counts as quiet. */
  public static final double QUIET_CPU_SHARE = 0.10;
  /** Old-generation growth since its last collection, in bytes, worth a full collection. */
  public static final long MIN_GARBAGE_BYTES = 8L << 20;

  /** Use and use after its last collection of the old generation, in bytes. */
  public record OldGeneration(long used, long usedAfterLastCollection) {}

  private final LongSupplier cpuNanos;
  private final LongSupplier nanoTime;
  private final Supplier<OldGeneration> oldGeneration;
  private final Runnable collect;
  private final double quietShare;
  private long lastCpu;
  private long lastTime;
  private int quietTicks;
  private long trims;
  private boolean off;

  /**
   * @param cpuNanos the process's CPU time so far, in nanoseconds
   * @param nanoTime a monotonic clock, in nanoseconds
   * @param oldGeneration the old generation's use now
   * @param collect a full collection
   * @param cores the CPU the process may use, in cores (its limit, or 1); quiet is {@link
   *     #QUIET_CPU_SHARE} of the smaller of this and one core
   */
  HeapTrim(LongSupplier cpuNanos, LongSupplier nanoTime, Supplier<OldGeneration> oldGeneration, Runnable collect,
      double cores) {
    this.quietShare = QUIET_CPU_SHARE * Math.min(1.0, cores);
    this.cpuNanos = cpuNanos;
    this.nanoTime = nanoTime;
    this.oldGeneration = oldGeneration;
    this.collect = collect;
    this.lastCpu = cpuNanos.getAsLong();
    this.lastTime = nanoTime.getAsLong();
  }

  /**
   * The trim of this JVM, or empty when it has no old-generation pool with collection usage or no
   * process CPU time (then nothing is trimmed; logged).
   */
  public static Optional<HeapTrim> forThisJvm() {
    Optional<MemoryPoolMXBean> old = ManagementFactory.getMemoryPoolMXBeans().stream()
        .filter(p -> p.getType() == MemoryType.HEAP && p.isCollectionUsageThresholdSupported())
        .filter(p -> p.getName().contains("Old") || p.getName().contains("Tenured"))
        .findFirst();
    if (old.isEmpty() || !(ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) || os.getProcessCpuTime() < 0) {
      LOG.info("heap trim off: no old-generation pool or no process CPU time in this JVM");
      return Optional.empty();
    }
    MemoryPoolMXBean pool = old.get();
    return Optional.of(new HeapTrim(os::getProcessCpuTime, System::nanoTime, () -> {
      MemoryUsage after = pool.getCollectionUsage();
      return new OldGeneration(pool.getUsage().getUsed(), after == null ? 0 : after.getUsed());
    }, System::gc, cpuLimitCores(Path.of("/sys/fs/cgroup/cpu.max")).orElse(1.0)));
  }

  /**
   * The CPU limit in {@code cpuMax}, a cgroup v2 {@code cpu.max} file ({@code "$MAX $PERIOD"}, both
   * in microseconds, or {@code "max $PERIOD"} for none), in cores; empty when there is no limit or
   * the file is missing or unreadable (the host's root cgroup has none).
   */
  static OptionalDouble cpuLimitCores(Path cpuMax) {
    try {
      String[] fields = Files.readString(cpuMax).strip().split("\\s+");
      if (fields.length != 2 || fields[0].equals("max")) {
        return OptionalDouble.empty();
      }
      double quota = Double.parseDouble(fields[0]);
      double period = Double.parseDouble(fields[1]);
      return quota > 0 && period > 0 ? OptionalDouble.of(quota / period) : OptionalDouble.empty();
    } catch (IOException | NumberFormatException e) {
      return OptionalDouble.empty();
    }
  }

  /** Runs {@link #tick} every {@link #TICK} on {@code executor}. */
  public void start(ScheduledExecutorService executor) {
    executor.scheduleWithFixedDelay(this::tickLogged, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void tickLogged() {
    try {
      tick();
    } catch (RuntimeException e) {
      LOG.warn("heap trim: {}", e.toString());
    }
  }

  /**
   * One look: counts the tick quiet or busy, and collects when {@link #QUIET_TICKS} quiet ticks in a
   * row follow growth of at least {@link #MIN_GARBAGE_BYTES}. A collection that changes nothing
   * (explicit collections disabled) turns the trim off for good, with one warning.
   *
   * @return whether it collected
   */
  boolean tick() {
    if (off) {
      return false;
    }
    long cpu = cpuNanos.getAsLong();
    long now = nanoTime.getAsLong();
    long wall = Math.max(1, now - lastTime);
    boolean quiet = (cpu - lastCpu) < quietShare * wall;
    lastCpu = cpu;
    lastTime = now;
    quietTicks = quiet ? quietTicks + 1 : 0;
    OldGeneration old = oldGeneration.get();
    long garbage = old.used() - old.usedAfterLastCollection();
    if (quietTicks < QUIET_TICKS || garbage < MIN_GARBAGE_BYTES) {
      return false;
    }
    long started = System.nanoTime();
    collect.run();
    quietTicks = 0;
    // The collection's own CPU must not count against the next tick's quiet judgement.
    lastCpu = cpuNanos.getAsLong();
    lastTime = nanoTime.getAsLong();
    OldGeneration after = oldGeneration.get();
    if (after.used() - after.usedAfterLastCollection() >= garbage && after.used() >= old.used()) {
      // Nothing was collected: System.gc() is off (-XX:+DisableExplicitGC, for example through
      // JAVA_TOOL_OPTIONS). Stop instead of asking again every other tick.
      off = true;
      LOG.warn("heap trim off: a full collection request changed nothing (-XX:+DisableExplicitGC?);"
          + " the old generation keeps {} MiB until the JVM collects it", old.used() >> 20);
      return false;
    }
    trims++;
    LOG.info("heap trim: quiet after work, old generation {} MiB of which {} MiB grown since its last collection;"
        + " full collection took {} ms, old generation now {} MiB", old.used() >> 20, garbage >> 20,
        (System.nanoTime() - started) / 1_000_000, after.used() >> 20);
    return true;
  }

  /** Trims done so far. */
  public long trims() {
    return trims;
  }
}
