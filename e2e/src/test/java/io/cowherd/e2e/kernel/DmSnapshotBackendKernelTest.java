package io.cowherd.e2e.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.e2e.kernel.guest.DmSnapshotScenarios;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The dm-snapshot backend on a real Linux kernel: each test boots the QEMU guest
 * ({@link GuestVm}) and runs one {@link DmSnapshotScenarios} scenario there on the jars and
 * classes built on this host.
 */
@Tag("kernel")
class DmSnapshotBackendKernelTest {

  @Test
  void threeSlotsKeepAWriteInSlotOneAndTeardownLeavesNoDevice() {
    runScenario("three-slots", Duration.ofMinutes(5));
  }

  @Test
  void provisioningSigkilledTwiceWhileCreatingEightSlotsConvergesWithoutDuplicatesOrLostWrites() {
    runScenario("crash-converge", Duration.ofMinutes(6));
  }

  @Test
  void aFullCowStoreOverflowsToAReadableReadOnlyDiskAndFailsTheSlotWithTheOriginIntact() {
    runScenario("overflow", Duration.ofMinutes(5));
  }

  @Test
  void aSlotDetachedUnderRetainKeepsItsCowFileAndServesItsWritesWhenProvisionedAgain() {
    runScenario("retain", Duration.ofMinutes(5));
  }

  static void runScenario(String name, Duration limit) {
    GuestVm.Result r = GuestVm.builder().timeout(limit).build()
        .run(GuestVm.javaMain(DmSnapshotScenarios.class, name));
    System.out.printf("[measure] kernel scenario %s: %.1f s in the guest, boot included%n", name, r.elapsed().toMillis() / 1e3);
    assertThat(r.exitCode()).as("guest scenario %s failed; guest output:%n%s", name, r.output()).isZero();
    assertThat(r.output()).contains("scenario " + name + ": passed");
  }
}
