package io.cowherd.e2e.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.e2e.kernel.guest.KernelInitiatorScenario;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The Linux kernel's own AoE initiator ({@code aoe} module) against vblade exporting a
 * dm-snapshot slot, in the QEMU guest ({@link GuestVm}); also measures 16-slot bring-up and the
 * initiator's read throughput from a slot versus from the raw origin file, in one run.
 */
@Tag("kernel")
class KernelInitiatorKernelTest {

  @Test
  void theKernelInitiatorFindsASlotAndItsWritesLandInThatSlotsCowStoreOnly() {
    GuestVm.Result r = GuestVm.builder().timeout(Duration.ofMinutes(8))
        // 16 COW files reserved at full size (16 x 64 MiB, fallocate) on the guest's tmpfs /tmp: half the RAM must hold them.
        .memoryMiB(3072).build()
        .run(GuestVm.javaMain(KernelInitiatorScenario.class));
    System.out.printf("[measure] kernel scenario kernel-initiator: %.1f s in the guest, boot included%n",
        r.elapsed().toMillis() / 1e3);
    assertThat(r.exitCode()).as("guest scenario failed; guest output:%n%s", r.output()).isZero();
    assertThat(r.output()).contains("scenario kernel-initiator: passed");
  }
}
