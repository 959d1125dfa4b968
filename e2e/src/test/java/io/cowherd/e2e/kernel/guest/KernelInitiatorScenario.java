package io.cowherd.e2e.kernel.guest;

import static io.cowherd.e2e.kernel.guest.GuestHost.secondsSince;
import static io.cowherd.e2e.kernel.guest.GuestHost.step;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.backend.CowRequest;
import io.cowherd.agent.backend.CowStore;
import io.cowherd.agent.backend.DmSnapshotBackend;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.SnapshotStatus;
import io.cowherd.e2e.support.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Runs in the test guest: 16 dm-snapshot slots on a 64 MiB origin (bring-up timed); vblade, in
 * network namespace {@code cwk-exp}, exports slot 1 as {@code e7.1} and the raw origin file
 * (read-only) as {@code e8.0} over a veth whose other end, in the initial namespace, is the only
 * interface of the kernel {@code aoe} driver (which serves the initial namespace only). The kernel
 * initiator finds both as {@code /dev/etherd/e7.1} and {@code /dev/etherd/e8.0}; both serve the
 * origin (read throughput measured for each); blocks written through {@code /dev/etherd/e7.1}
 * land in slot 1's COW store only. Teardown leaves nothing.
 */
public final class KernelInitiatorScenario {
  private static final int ORIGIN_BYTES = 64 << 20;
  private static final int SLOTS = 16;
  private static final int MTU_BYTES = 9000;
  private static final Path ORIGIN = Path.of("/tmp/images/origin.img");
  private static final Path STATE = Path.of("/tmp/state");
  private static final String NETNS = "cwk-exp";
  private static final Path SLOT_TARGET = Path.of("/dev/etherd/e7.1");
  private static final Path RAW_TARGET = Path.of("/dev/etherd/e8.0");

  private KernelInitiatorScenario() {}

  public static void main(String[] args) throws Exception {
    GuestHost.modprobe("loop", "dm_snapshot", "veth");
    byte[] origin = GuestHost.writeOrigin(ORIGIN, ORIGIN_BYTES, 5);
    step("origin written");

    DmSnapshotBackend backend = GuestHost.backend(STATE);
    List<CowStore> stores = new ArrayList<>();
    long started = System.nanoTime();
    for (int n = 0; n < SLOTS; n++) {
      stores.add(backend.provision(new CowRequest(new SlotId("kt", "init", n), ORIGIN, ORIGIN_BYTES, 64)));
    }
    double bringUp = secondsSince(started);
    System.out.printf("[measure] %d dm-snapshot slots brought up in %.2f s (%.2f s per slot; COW file reserved with fallocate, COW loop,"
        + " dm create, mknodes)%n", SLOTS, bringUp, bringUp / SLOTS);
    assertThat(GuestHost.dmNames()).hasSize(SLOTS);
    assertThat(GuestHost.loops()).hasSize(SLOTS + 1);

    Commands.run("ip", "netns", "add", NETNS);
    List<Process> exporters = new ArrayList<>();
    try {
      Commands.run("ip", "link", "add", "cwk0", "mtu", Integer.toString(MTU_BYTES), "type", "veth",
          "peer", "name", "cwk1", "mtu", Integer.toString(MTU_BYTES), "netns", NETNS);
      Commands.run("ip", "link", "set", "cwk0", "up");
      Commands.run("ip", "-n", NETNS, "link", "set", "cwk1", "up");
      exporters.add(vblade(List.of(), 7, 1, stores.get(1).exportPath().toString()));
      exporters.add(vblade(List.of("-r"), 8, 0, ORIGIN.toString())); // read-only: the origin is never written
      GuestHost.modprobe("aoe aoe_iflist=cwk0");
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
        Files.writeString(Path.of("/dev/etherd/discover"), "\n");
        assertThat(SLOT_TARGET).exists();
        assertThat(RAW_TARGET).exists();
      });
      step("kernel initiator found e7.1 and e8.0");

      measureAndCompare(origin);
      writeThroughTheInitiator(origin, backend, stores);
    } finally {
      for (Process p : exporters) {
        p.destroyForcibly().waitFor();
      }
      // The aoe driver holds its interface until unloaded; deleting the veth first would hang.
      Commands.exec(Commands.DEFAULT_TIMEOUT, List.of("modprobe", "-r", "aoe"));
      Commands.exec(Commands.DEFAULT_TIMEOUT, List.of("ip", "link", "del", "cwk0"));
      Commands.exec(Commands.DEFAULT_TIMEOUT, List.of("ip", "netns", "del", NETNS));
    }

    started = System.nanoTime();
    for (int n = SLOTS - 1; n >= 0; n--) {
      backend.teardown(new SlotId("kt", "init", n), Optional.of(ORIGIN));
    }
    System.out.printf("[measure] %d dm-snapshot slots torn down in %.2f s%n", SLOTS, secondsSince(started));
    assertThat(GuestHost.dmNames()).as("dm devices after teardown").isEmpty();
    assertThat(GuestHost.loops()).as("loop devices after teardown").isEmpty();
    assertThat(GuestHost.mapperNodes()).as("/dev/mapper after teardown").isEmpty();
    assertThat(GuestHost.filesUnder(STATE)).as("files under the state dir after teardown").isEmpty();
    System.out.println("scenario kernel-initiator: passed");
  }

  /** Reads both targets whole twice (slot first, then raw), checks the content, prints MB/s. */
  private static void measureAndCompare(byte[] origin) {
    for (int round = 1; round <= 2; round++) {
      long t0 = System.nanoTime();
      long slotDiff = BlockIo.firstDifference(SLOT_TARGET, origin);
      double slotSeconds = secondsSince(t0);
      t0 = System.nanoTime();
      long rawDiff = BlockIo.firstDifference(RAW_TARGET, origin);
      double rawSeconds = secondsSince(t0);
      assertThat(slotDiff).as("e7.1 (slot 1) serves the origin; first differing byte").isEqualTo(-1);
      assertThat(rawDiff).as("e8.0 (raw origin) serves the origin; first differing byte").isEqualTo(-1);
      System.out.printf("[measure] kernel aoe initiator, MTU %d, 1 MiB O_DIRECT reads of 64 MiB, round %d: slot e7.1"
          + " (vblade on dm-snapshot) %.1f MB/s; raw origin e8.0 (vblade on the origin file) %.1f MB/s%n",
          MTU_BYTES, round, ORIGIN_BYTES / slotSeconds / 1e6, ORIGIN_BYTES / rawSeconds / 1e6);
    }
  }

  /** Known blocks written through /dev/etherd/e7.1 are in slot 1's COW store and nowhere else. */
  private static void writeThroughTheInitiator(byte[] origin, DmSnapshotBackend backend, List<CowStore> stores)
      throws IOException {
    long offset = 20L << 20;
    byte[] written = GuestHost.pattern(512 << 10, 11);
    BlockIo.write(SLOT_TARGET, offset, written);
    step("512 KiB written through /dev/etherd/e7.1");
    byte[] originPart = Arrays.copyOfRange(origin, (int) offset, (int) offset + written.length);
    assertThat(BlockIo.read(SLOT_TARGET, offset, written.length)).as("e7.1 reads its write back").isEqualTo(written);
    assertThat(BlockIo.read(stores.get(1).exportPath(), offset, written.length)).as("slot 1's dm device holds it")
        .isEqualTo(written);
    assertThat(BlockIo.read(RAW_TARGET, offset, written.length)).as("e8.0 (origin) unchanged").isEqualTo(originPart);
    assertThat(BlockIo.read(stores.get(0).exportPath(), offset, written.length)).as("slot 0 unchanged").isEqualTo(originPart);
    for (int n = 0; n < SLOTS; n++) {
      SnapshotStatus.Active a = (SnapshotStatus.Active) GuestHost.DMSETUP.status(stores.get(n).dmName());
      assertThat(a.allocatedSectors() - a.metadataSectors()).as("data sectors in slot %d's COW store", n)
          .isEqualTo(n == 1 ? written.length / 512 : 0);
    }
    byte[] firstChunk = Arrays.copyOf(written, 64 * 512);
    assertThat(GuestHost.holdsChunk(stores.get(1).cowStorePath(), firstChunk)).as("slot 1's COW file holds the write").isTrue();
    assertThat(GuestHost.holdsChunk(stores.get(0).cowStorePath(), firstChunk)).as("slot 0's COW file").isFalse();
    assertThat(GuestHost.fileEquals(ORIGIN, origin)).as("origin file unchanged").isTrue();
    step("the write is in slot 1's COW store only");
  }

  /** Starts {@code vblade [options] shelf slot cwk1 file} in the exporter namespace. */
  private static Process vblade(List<String> options, int shelf, int slot, String file) throws IOException {
    List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", NETNS, "vblade"));
    argv.addAll(options);
    argv.addAll(List.of(Integer.toString(shelf), Integer.toString(slot), "cwk1", file));
    Path log = Path.of("/tmp/vblade-e" + shelf + "." + slot + ".log");
    return new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }
}
