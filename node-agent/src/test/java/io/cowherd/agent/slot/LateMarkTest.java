package io.cowherd.agent.slot;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.v1alpha1.AoeBootSlot;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The delayed {@code Terminating} write of a teardown ({@link SlotReconciler.LateMark}), with an
 * executor the test runs by hand in place of the delay: a teardown that ends before the delay
 * writes nothing, not even later; one still running when the delay ends gets the write, and the
 * cleanup waits for it and gets the object it returned (to release the finalizer against).
 */
class LateMarkTest {
  private final List<Runnable> due = new ArrayList<>();
  private final AtomicInteger writes = new AtomicInteger();
  private final AoeBootSlot written = new AoeBootSlot();

  private Optional<AoeBootSlot> write() {
    writes.incrementAndGet();
    return Optional.of(written);
  }

  @Test
  void aTeardownDoneBeforeTheDelayWritesNothingEvenWhenTheDelayEndsLater() {
    SlotReconciler.LateMark mark = SlotReconciler.LateMark.after(due::add, this::write);
    assertThat(mark.settle()).isEmpty();
    due.forEach(Runnable::run); // the delay ends after the teardown
    assertThat(writes).hasValue(0);
  }

  @Test
  void aTeardownStillRunningWhenTheDelayEndsShowsTerminatingAndGetsTheWrittenObject() {
    SlotReconciler.LateMark mark = SlotReconciler.LateMark.after(due::add, this::write);
    due.forEach(Runnable::run);
    assertThat(writes).hasValue(1);
    assertThat(mark.settle()).containsSame(written);
    assertThat(writes).hasValue(1);
  }

  @Test
  void settleWaitsForAWriteInFlight() throws Exception {
    CountDownLatch writing = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    SlotReconciler.LateMark mark = SlotReconciler.LateMark.after(r -> Thread.ofVirtual().start(r), () -> {
      writing.countDown();
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return write();
    });
    assertThat(writing.await(10, TimeUnit.SECONDS)).isTrue();
    Thread settler = Thread.ofVirtual().start(() -> assertThat(mark.settle()).containsSame(written));
    assertThat(settler.join(java.time.Duration.ofMillis(200))).as("settle waits for the write in flight").isFalse();
    release.countDown();
    assertThat(settler.join(java.time.Duration.ofSeconds(10))).isTrue();
    assertThat(writes).hasValue(1);
  }

  @Test
  void aFailedWriteCountsAsNone() {
    SlotReconciler.LateMark mark = SlotReconciler.LateMark.after(due::add, () -> {
      throw new IllegalStateException("API server gone");
    });
    due.forEach(Runnable::run);
    assertThat(mark.settle()).isEmpty();
  }

  @Test
  void noMarkSettlesEmpty() {
    assertThat(SlotReconciler.LateMark.NONE.settle()).isEmpty();
  }
}
