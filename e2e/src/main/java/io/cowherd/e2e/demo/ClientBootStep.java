package io.cowherd.e2e.demo;

import static org.awaitility.Awaitility.await;

import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.e2e.support.BootImage;
import io.cowherd.e2e.support.BootNetwork;
import io.cowherd.e2e.support.Lab;
import io.cowherd.e2e.support.QemuClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo's {@code --boot-client} step, through the front door: the demo pool enrols unknown
 * MACs, the node agent serves its boot endpoint and cowherd's proxy DHCP (dnsmasq) beside a DHCP
 * server that hands out addresses only, and one diskless client VM with no per-client
 * configuration boots from its NIC's PXE ROM (DHCP → {@code boot.ipxe} → enrolled → {@code sanboot}
 * → SYSLINUX → Linux → {@code aoe}). Its console, boot time, the slot it got and the marker it left
 * in that slot's COW store are shown.
 */
final class ClientBootStep {
  /** Room for a slow TCG boot on a busy two-core machine. */
  private static final Duration BOOT_LIMIT = Duration.ofMinutes(5);
  /** Console lines are cut to this many characters (the full console is in the log file). */
  private static final int SHOWN_CHARS = 150;
  /** Kernel log lines ("[    1.234567] …") are shown only when they are about AoE. */
  private static final Pattern KERNEL_LINE = Pattern.compile("^\\[\\s*\\d+\\.\\d+\\].*");
  private static final Pattern BOOTED = Pattern.compile(Pattern.quote(QemuClient.BOOT_OK) + "e(\\d+)\\.(\\d+) ");

  private ClientBootStep() {}

  /**
   * Turns on automatic enrollment in {@code pool} (namespace default), sets up the front door and
   * boots one client from its NIC.
   *
   * @throws AssertionError when the client does not reach its marker in time
   */
  static void bootThroughFrontDoor(Lab lab, String pool, Path logDir) {
    System.out.print(lab.controlPlane().kubectlOk("patch", "aoebootpool/" + pool, "-n", "default", "--type", "merge",
        "-p", "{\"spec\":{\"clients\":{\"enrollment\":\"Automatic\"}}}"));
    BootNetwork net = BootNetwork.withProxyDhcp(lab, logDir);
    System.out.printf("the node agent serves http://%s:%d/boot/v1/boot.ipxe and proxy DHCP (dnsmasq) on %s, beside a "
        + "DHCP server that hands out addresses only%n", net.agentAddress(), net.bootPort(),
        lab.network().exporterInterface());
    String mac = QemuClient.macFor(0);
    System.out.printf("a QEMU VM (TCG, no disk, virtio-net %s, booting from its NIC's iPXE ROM: -boot n, no script) "
        + "powers on%n", mac);
    try (QemuClient client = QemuClient.powerOnFromNic(lab.network(), logDir, "demo-client-0", mac, line -> {
      String text = line.text();
      if (!KERNEL_LINE.matcher(text).matches() || text.contains("aoe")) {
        String shown = line.toString();
        System.out.println("  console | " + (shown.length() > SHOWN_CHARS ? shown.substring(0, SHOWN_CHARS) + "…" : shown));
      }
    })) {
      await().atMost(BOOT_LIMIT).pollInterval(Duration.ofMillis(200)).until(client::poweredOff);
      Duration booted = client.timeTo(QemuClient.BOOT_OK)
          .orElseThrow(() -> new AssertionError("the client did not reach " + QemuClient.BOOT_OK.strip() + "; console: "
              + client.consoleLog()));
      Matcher m = BOOTED.matcher(client.line(QemuClient.BOOT_OK).orElseThrow().text());
      if (!m.find()) {
        throw new AssertionError("no target in the boot line; console: " + client.consoleLog());
      }
      int slotNumber = Integer.parseInt(m.group(2));
      String written = client.after(QemuClient.MARKER_WRITTEN)
          .orElseThrow(() -> new AssertionError("the client wrote no marker; console: " + client.consoleLog()));
      System.out.printf(Locale.ROOT, "client %s was enrolled and booted from e%s.%s: power-on -> %s in %.1f s; it wrote: %s%n",
          mac, m.group(1), m.group(2), QemuClient.BOOT_OK.strip(), booted.toMillis() / 1000.0, written);
      System.out.print(lab.controlPlane().kubectlOk("get", "aoebootclients", "-n", "default"));
      AoeBootSlot slot = lab.controlPlane().client().resources(AoeBootSlot.class).inNamespace("default")
          .withName(pool + "-" + slotNumber).get();
      Path cowStore = Path.of(slot.getStatus().getCowStorePath());
      String stored = BootImage.readMarker(cowStore)
          .orElseThrow(() -> new AssertionError("no client marker in the COW store " + cowStore));
      System.out.printf("slot %d's COW store %s now holds: %s%nthe origin %s holds: %s%n", slotNumber, cowStore, stored,
          lab.originImage(), BootImage.readMarker(lab.originImage()).orElse("no marker (never written)"));
    }
  }
}
