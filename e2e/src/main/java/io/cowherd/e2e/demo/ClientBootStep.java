package io.cowherd.e2e.demo;

import static org.awaitility.Awaitility.await;

import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.e2e.support.BootImage;
import io.cowherd.e2e.support.Lab;
import io.cowherd.e2e.support.QemuClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The demo's {@code --boot-client} step: one diskless client VM boots from slot 0 of the demo pool
 * (iPXE {@code sanboot} → SYSLINUX → Linux → {@code aoe}), and its console markers, boot time and
 * the marker it left in slot 0's COW store are shown.
 */
final class ClientBootStep {
  /** Room for a slow TCG boot on a busy two-core machine. */
  private static final Duration BOOT_LIMIT = Duration.ofMinutes(4);
  /** Kernel log lines ("[    1.234567] …") are shown only when they are about AoE. */
  /** Console lines are cut to this many characters (the full console is in the log file). */
  private static final int SHOWN_CHARS = 150;
  private static final Pattern KERNEL_LINE = Pattern.compile("^\\[\\s*\\d+\\.\\d+\\].*");

  private ClientBootStep() {}

  /**
   * Boots a client from slot 0 of {@code pool}, streams the interesting console lines, and checks
   * that it reached its marker and that its marker is in slot 0's COW store.
   *
   * @throws AssertionError when the client does not reach its marker in time
   */
  static void bootSlotZero(Lab lab, String pool, Path logDir) {
    AoeBootSlot slot = lab.controlPlane().client().resources(AoeBootSlot.class).inNamespace("default")
        .withName(pool + "-0").get();
    if (slot == null || slot.getStatus() == null || slot.getStatus().getCowStorePath() == null) {
      throw new AssertionError("slot " + pool + "-0 is not serving");
    }
    AoeTarget target = new AoeTarget(slot.getSpec().getShelf(), slot.getSpec().getSlot());
    String mac = QemuClient.macFor(0);
    System.out.printf("a QEMU VM (TCG, no disk, virtio-net %s on the demo segment) runs iPXE: ifopen net0; sanboot aoe:%s%n",
        mac, target);
    try (QemuClient client = QemuClient.powerOn(lab.network(), logDir, "demo-client-0", target, mac,
        line -> {
          String text = line.text();
          if (!KERNEL_LINE.matcher(text).matches() || text.contains("aoe")) {
            String shown = line.toString();
            System.out.println("  console | " + (shown.length() > SHOWN_CHARS ? shown.substring(0, SHOWN_CHARS) + "…" : shown));
          }
        })) {
      await().atMost(BOOT_LIMIT).pollInterval(Duration.ofMillis(200))
          .until(() -> client.poweredOff() || client.line(QemuClient.SANBOOT_FAILED).isPresent());
      Duration booted = client.timeTo(QemuClient.BOOT_OK)
          .orElseThrow(() -> new AssertionError("the client did not reach " + QemuClient.BOOT_OK.strip() + "; console: "
              + client.consoleLog()));
      String written = client.after(QemuClient.MARKER_WRITTEN)
          .orElseThrow(() -> new AssertionError("the client wrote no marker; console: " + client.consoleLog()));
      System.out.printf(Locale.ROOT, "client booted from %s: QEMU start -> %s in %.1f s; it wrote: %s%n", target,
          QemuClient.BOOT_OK.strip(), booted.toMillis() / 1000.0, written);
      Path cowStore = Path.of(slot.getStatus().getCowStorePath());
      String stored = BootImage.readMarker(cowStore)
          .orElseThrow(() -> new AssertionError("no client marker in slot 0's COW store " + cowStore));
      System.out.printf("slot 0's COW store %s now holds: %s%nthe origin %s holds: %s%n", cowStore, stored,
          lab.originImage(), BootImage.readMarker(lab.originImage()).orElse("no marker (never written)"));
    }
  }
}
