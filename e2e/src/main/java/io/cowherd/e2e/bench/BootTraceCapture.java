package io.cowherd.e2e.bench;

import io.cowherd.aoe.frame.AoeMessage;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.AtaMessage;
import io.cowherd.aoe.frame.FrameDecoder;
import io.cowherd.aoe.frame.MalformedFrameException;
import io.cowherd.aoe.net.NetNs;
import io.cowherd.aoe.net.RawSocket;
import io.cowherd.e2e.support.BootImage;
import io.cowherd.e2e.support.Commands;
import io.cowherd.e2e.support.Lab;
import io.cowherd.e2e.support.NetworkLab;
import io.cowherd.e2e.support.QemuClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Records the AoE ATA requests of one real diskless boot, for {@link BootStormBenchmark}: the
 * QEMU client of the boot e2e ({@link QemuClient}, iPXE {@code sanboot}, then Linux's {@code aoe}
 * driver in the initramfs of {@code hack/make-boot-image.sh}) boots from a plain read-write
 * {@code vblade -s} of a copy of the cached boot image, and a raw AoE socket on the lab bridge
 * ({@code br0}, set promiscuous: the lab's own bridge) sees every frame in both directions.
 *
 * <p>Each ATA request (R flag clear; a retransmission of a tag still outstanding is dropped) becomes
 * one line of {@link BootTrace}'s format: its offset from the first request in microseconds, its
 * LBA and sector count (512-byte sectors), {@code R}/{@code W}, and how many requests of this client
 * were outstanding when it was sent, itself included (the reply with its tag ends it). Requests
 * other than READ/WRITE (IDENTIFY, FLUSH) are counted in the header only.
 *
 * <p>Run as root: {@code hack/bench-storm.sh --capture} (writes
 * {@code e2e/src/main/resources/bench/boot-trace.csv}).
 */
public final class BootTraceCapture {
  private static final AoeTarget TARGET = new AoeTarget(9, 0);
  private static final int IMAGE_MIB = 64;
  private static final Duration BOOT_LIMIT = Duration.ofMinutes(6);

  private BootTraceCapture() {}

  /** One frame seen on the wire and when (nanoTime). */
  private record Seen(long nanos, byte[] frame) {}

  /**
   * {@code BootTraceCapture <out.csv> <workDir>}.
   *
   * @throws IllegalStateException when the client does not boot within 6 minutes
   */
  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "e2e/src/main/resources/bench/boot-trace.csv").toAbsolutePath();
    Path work = Path.of(args.length > 1 ? args[1] : "target/bench-storm/capture").toAbsolutePath();
    Files.createDirectories(work);
    Path image = BootImage.cached(Lab.findRepo(), IMAGE_MIB);
    Path disk = work.resolve("disk.img");
    Files.deleteIfExists(disk);
    Files.copy(image, disk);
    List<Seen> seen = new ArrayList<>();
    String console;
    try (NetworkLab network = NetworkLab.create()) {
      // A packet socket bound to the AoE type on a bridge port never sees bridged frames (the bridge
      // consumes them first), nor on the exporter NIC the frames it sends (those reach only ETH_P_ALL
      // taps); the lab's own bridge in promiscuous mode passes a copy of every frame up through br0.
      Commands.run("ip", "-n", network.bridgeNamespace(), "link", "set", "dev", "br0", "promisc", "on");
      RawSocket tap = NetNs.openRawSocket(network.bridgeNamespace(), "br0");
      Process vblade = new ProcessBuilder("vblade", "-s", "--", Integer.toString(TARGET.shelf()),
          Integer.toString(TARGET.slot()), network.exporterInterface(), disk.toString())
          .redirectErrorStream(true).redirectOutput(work.resolve("vblade.log").toFile()).start();
      Thread capture = Thread.ofPlatform().name("capture").daemon().start(() -> {
        byte[] buf = new byte[9000];
        try {
          while (!Thread.currentThread().isInterrupted()) {
            int n = tap.receive(buf, 0, Duration.ofMillis(200));
            if (n > 0) {
              synchronized (seen) {
                seen.add(new Seen(System.nanoTime(), Arrays.copyOf(buf, n)));
              }
            }
          }
        } catch (IOException e) {
          // socket closed at the end
        }
      });
      try (QemuClient client = QemuClient.powerOn(network, work, "trace-client", TARGET, QemuClient.macFor(1), null)) {
        long deadline = System.nanoTime() + BOOT_LIMIT.toNanos();
        while (!client.poweredOff() && client.line(QemuClient.MARKER_WRITTEN).isEmpty()
            && client.line(QemuClient.BOOT_FAILED).isEmpty() && System.nanoTime() < deadline) {
          Thread.sleep(200); // polling the console of a VM, not waiting for a kernel effect
        }
        console = client.tail(8);
        if (client.line(QemuClient.MARKER_WRITTEN).isEmpty()) {
          throw new IllegalStateException("the client did not boot: " + console);
        }
        Thread.sleep(1000); // let the last replies pass the tap
      }
      capture.interrupt();
      capture.join(2000);
      tap.close();
      vblade.destroy();
      vblade.waitFor(5, TimeUnit.SECONDS);
    }
    List<String> lines;
    synchronized (seen) {
      lines = toTrace(seen);
    }
    Files.createDirectories(out.getParent());
    Files.write(out, lines);
    System.out.println(console);
    System.out.println("[capture] " + lines.stream().filter(l -> l.startsWith("#")).toList());
    System.out.println("[capture] trace written to " + out);
  }

  private static List<String> toTrace(List<Seen> seen) {
    Map<Integer, Integer> outstanding = new HashMap<>();
    List<String> rows = new ArrayList<>();
    long first = -1;
    long lastReply = 0;
    int other = 0;
    int malformed = 0;
    int retransmitted = 0;
    int maxInFlight = 0;
    long reads = 0;
    long writes = 0;
    long readBytes = 0;
    long writeBytes = 0;
    for (Seen s : seen) {
      AoeMessage m;
      try {
        m = FrameDecoder.INSTANCE.decode(s.frame());
      } catch (MalformedFrameException e) {
        malformed++;
        continue;
      }
      if (!(m instanceof AtaMessage ata) || !ata.header().target().equals(TARGET)) {
        continue;
      }
      int tag = ata.header().tag();
      if (ata.header().response()) {
        if (outstanding.remove(tag) != null) {
          lastReply = s.nanos();
        }
        continue;
      }
      if (outstanding.containsKey(tag)) {
        retransmitted++;
        continue;
      }
      int cmd = ata.cmdStatus();
      boolean read = cmd == 0x24 || cmd == 0x20;
      boolean write = cmd == 0x34 || cmd == 0x30;
      outstanding.put(tag, tag);
      if (!read && !write) {
        other++;
        continue;
      }
      if (first < 0) {
        first = s.nanos();
      }
      int inFlight = outstanding.size();
      maxInFlight = Math.max(maxInFlight, inFlight);
      long bytes = ata.sectorCount() * 512L;
      if (write) {
        writes++;
        writeBytes += bytes;
      } else {
        reads++;
        readBytes += bytes;
      }
      rows.add((s.nanos() - first) / 1000 + "," + ata.lba() + "," + ata.sectorCount() + "," + (write ? "W" : "R") + ","
          + inFlight);
    }
    List<String> lines = new ArrayList<>();
    lines.add("# cowherd boot trace: one real client boot (QEMU TCG, iPXE sanboot + Linux aoe in the initramfs of"
        + " hack/make-boot-image.sh, " + IMAGE_MIB + " MiB image) seen on the exporter NIC by BootTraceCapture");
    lines.add("# requests " + rows.size() + " (reads " + reads + " = " + readBytes + " bytes, writes " + writes + " = "
        + writeBytes + " bytes), other ATA commands " + other + ", retransmissions dropped " + retransmitted
        + ", undecodable frames " + malformed + ", max in flight " + maxInFlight + ", span " + (lastReply - first) / 1_000_000 + " ms");
    lines.add("# offset_us,lba,sectors,op,in_flight");
    lines.addAll(rows);
    return lines;
  }
}
