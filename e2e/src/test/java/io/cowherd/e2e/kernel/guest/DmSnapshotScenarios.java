package io.cowherd.e2e.kernel.guest;

import static io.cowherd.e2e.kernel.guest.GuestHost.secondsSince;
import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.backend.CowRequest;
import io.cowherd.agent.backend.CowStore;
import io.cowherd.agent.backend.CowUsage;
import io.cowherd.agent.backend.DmSnapshotBackend;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.LoopDevice;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.SnapshotStatus;
import io.cowherd.agent.slot.SlotOutcome;
import io.cowherd.agent.slot.SlotPlan;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.e2e.kernel.GuestVm;
import io.cowherd.e2e.support.Commands;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * dm-snapshot backend scenarios that run inside the test guest (real device-mapper, real loop
 * devices), one per guest boot: {@code three-slots}, {@code crash-converge}, {@code overflow},
 * {@code retain}.
 * Each throws {@link AssertionError} (exit code 1) on the first broken expectation.
 */
public final class DmSnapshotScenarios {
  private static final int ORIGIN_BYTES = 64 << 20;
  private static final int CHUNK_SECTORS = 64;
  private static final Path ORIGIN = Path.of("/tmp/images/origin.img");
  private static final Path STATE = Path.of("/tmp/state");

  private DmSnapshotScenarios() {}

  public static void main(String[] args) throws Exception {
    GuestHost.modprobe("loop", "dm_snapshot");
    switch (args[0]) {
      case "three-slots" -> threeSlots();
      case "crash-converge" -> crashConverge();
      case "overflow" -> overflow();
      case "retain" -> retain();
      default -> throw new IllegalArgumentException("no scenario " + args[0]);
    }
    System.out.println("scenario " + args[0] + ": passed");
  }

  private static CowRequest request(String pool, int slot, long sizeBytes) {
    return new CowRequest(new SlotId("kt", pool, slot), ORIGIN, sizeBytes, CHUNK_SECTORS);
  }

  /**
   * Three slots on one origin: a write through slot 1's dm device reads back there only; slots 0
   * and 2 and the origin file are unchanged; only slot 1's snapshot reports data chunks; its COW
   * file holds the written bytes. Teardown leaves no loop device, dm device or file.
   */
  static void threeSlots() throws IOException {
    byte[] origin = GuestHost.writeOrigin(ORIGIN, ORIGIN_BYTES, 1);
    GuestHost.step("origin written");
    DmSnapshotBackend backend = GuestHost.backend(STATE);
    List<CowStore> stores = new ArrayList<>();
    long started = System.nanoTime();
    for (int n = 0; n < 3; n++) {
      stores.add(backend.provision(request("three", n, ORIGIN_BYTES)));
    }
    System.out.printf("[measure] 3 dm-snapshot slots provisioned in %.2f s%n", secondsSince(started));
    GuestHost.dumpDevices("after provisioning 3 slots");
    assertThat(GuestHost.loops()).as("one origin loop, three COW loops").hasSize(4)
        .filteredOn(LoopDevice::readOnly).singleElement().extracting(LoopDevice::backFile).isEqualTo(ORIGIN);
    for (CowStore s : stores) {
      assertThat(s.exportPath()).exists();
      assertThat(BlockIo.firstDifference(s.exportPath(), origin)).as("%s serves the origin", s.exportPath()).isEqualTo(-1);
    }

    GuestHost.step("3 slots serve the origin");
    long offset = 5L << 20;
    byte[] written = GuestHost.pattern(1 << 20, 42);
    BlockIo.write(stores.get(1).exportPath(), offset, written);
    assertThat(BlockIo.read(stores.get(1).exportPath(), offset, written.length)).as("slot 1 reads its write").isEqualTo(written);
    byte[] originPart = Arrays.copyOfRange(origin, (int) offset, (int) offset + written.length);
    assertThat(BlockIo.read(stores.get(0).exportPath(), offset, written.length)).as("slot 0 unchanged").isEqualTo(originPart);
    assertThat(BlockIo.read(stores.get(2).exportPath(), offset, written.length)).as("slot 2 unchanged").isEqualTo(originPart);
    assertThat(GuestHost.fileEquals(ORIGIN, origin)).as("origin file unchanged").isTrue();

    GuestHost.step("write isolated");
    long writtenSectors = written.length / 512;
    for (int n = 0; n < 3; n++) {
      SnapshotStatus status = GuestHost.DMSETUP.status(stores.get(n).dmName());
      System.out.println("dmsetup status " + stores.get(n).dmName() + ": " + status);
      assertThat(status).isInstanceOf(SnapshotStatus.Active.class);
      SnapshotStatus.Active a = (SnapshotStatus.Active) status;
      long dataSectors = a.allocatedSectors() - a.metadataSectors();
      assertThat(dataSectors).as("data sectors in slot %d's COW store", n).isEqualTo(n == 1 ? writtenSectors : 0);
      assertThat(backend.usage(stores.get(n))).isEqualTo(new CowUsage.Sectors(a.allocatedSectors(), a.totalSectors()));
    }
    int chunkBytes = CHUNK_SECTORS * 512;
    byte[] firstChunk = Arrays.copyOf(written, chunkBytes);
    for (int n = 0; n < 3; n++) {
      assertThat(GuestHost.holdsChunk(stores.get(n).cowStorePath(), firstChunk)).as("slot %d's COW file holds the write", n)
          .isEqualTo(n == 1);
    }

    GuestHost.step("usage and COW files checked");
    tearDownAndCheckClean(backend, "three", 3);
  }

  /**
   * A separate JVM provisioning 8 slots on 4 threads is SIGKILLed twice, first right after a write
   * through slot 1, then during its restart; a third run converges. Then exactly one origin loop,
   * eight COW loops and eight dm devices exist, every /dev/mapper node has its device's number,
   * no partial COW file is left, and slot 1 still holds the write. Teardown leaves nothing.
   */
  static void crashConverge() throws Exception {
    byte[] origin = GuestHost.writeOrigin(ORIGIN, ORIGIN_BYTES, 2);
    DmSnapshotBackend backend = GuestHost.backend(STATE);
    String pool = "crash";
    Path slotOne = HostNames.dmDevicePath(new SlotId("kt", pool, 1));
    byte[] written = GuestHost.pattern(256 << 10, 7);
    long offset = 9L << 20;

    Process first = startProvisioner(pool);
    awaitLine(first, "slot 1: provisioned");
    BlockIo.write(slotOne, offset, written);
    first.destroyForcibly().waitFor();
    System.out.println("SIGKILLed the provisioner after writing through slot 1");
    GuestHost.dumpDevices("after the first SIGKILL");

    Process second = startProvisioner(pool);
    awaitLine(second, "slot 5: provisioning");
    second.destroyForcibly().waitFor();
    System.out.println("SIGKILLed the restarted provisioner while it provisioned slot 5");
    GuestHost.dumpDevices("after the second SIGKILL");

    long started = System.nanoTime();
    Process third = startProvisioner(pool);
    awaitLine(third, "all 8 slots provisioned");
    assertThat(third.waitFor()).as("converging run's exit code").isZero();
    System.out.printf("[measure] converging run after two SIGKILLs (JVM start included): %.2f s%n", secondsSince(started));
    GuestHost.dumpDevices("after converging");

    HostNames names = new HostNames(STATE);
    List<String> expectedDm = IntStream.range(0, 8).mapToObj(n -> HostNames.dmName(new SlotId("kt", pool, n))).sorted().toList();
    assertThat(GuestHost.dmNames()).as("dmsetup ls").isEqualTo(expectedDm);
    List<LoopDevice> loops = GuestHost.loops();
    assertThat(loops).as("losetup: one origin loop and one loop per COW file, nothing else").hasSize(9);
    assertThat(loops).filteredOn(LoopDevice::readOnly).singleElement().extracting(LoopDevice::backFile).isEqualTo(ORIGIN);
    assertThat(loops).filteredOn(l -> !l.readOnly()).extracting(LoopDevice::backFile)
        .containsExactlyInAnyOrderElementsOf(IntStream.range(0, 8).mapToObj(n -> names.cowFilePath(new SlotId("kt", pool, n))).toList());
    Map<String, String> numbers = GuestHost.dmNumbers();
    assertThat(GuestHost.mapperNodes()).as("/dev/mapper nodes match the dm devices").isEqualTo(numbers);
    assertThat(GuestHost.filesUnder(STATE)).as("COW files and their origin stamps, no partial one")
        .extracting(p -> p.getFileName().toString())
        .containsExactlyInAnyOrderElementsOf(IntStream.range(0, 8)
            .mapToObj(n -> List.of("slot-" + n + ".cow", "slot-" + n + ".cow.origin")).flatMap(List::stream).toList());
    assertThat(BlockIo.read(slotOne, offset, written.length)).as("slot 1 still holds the write made before the SIGKILL")
        .isEqualTo(written);
    for (int n = 0; n < 8; n++) {
      Optional<CowStore> found = backend.find(request(pool, n, ORIGIN_BYTES));
      assertThat(found).as("slot %d is found complete by name, UUID and backing file", n).isPresent();
      if (n != 1) {
        assertThat(BlockIo.read(found.get().exportPath(), offset, written.length)).as("slot %d unchanged", n)
            .isEqualTo(Arrays.copyOfRange(origin, (int) offset, (int) offset + written.length));
      }
    }
    tearDownAndCheckClean(backend, pool, 8);
  }

  /**
   * A COW store smaller than what is written: the slot's COW file exists at 1 MiB before the
   * slot is provisioned (the backend reuses an existing COW file, never recreating it; cowherd's
   * own are reserved at full size and cannot fill up), then 4 MiB are written through the dm
   * device. With store type {@code PO} the snapshot goes {@code Overflow}, not {@code Invalid}:
   * what the client sees then is checked: the whole disk still reads, the chunks it wrote before
   * the overflow keep their data, the parts it never wrote read as the origin, and every further
   * write fails, a rewrite of a chunk already in the COW store included (dm-snap.c refuses all
   * writes to an overflowed snapshot). The agent's plan judges the slot Failed
   * ({@code CowStoreFull}) and the origin is unchanged.
   */
  static void overflow() throws IOException {
    byte[] origin = GuestHost.writeOrigin(ORIGIN, ORIGIN_BYTES, 3);
    DmSnapshotBackend backend = GuestHost.backend(STATE);
    SlotId id = new SlotId("kt", "overflow", 0);
    Path cow = new HostNames(STATE).cowFilePath(id);
    Files.createDirectories(cow.getParent());
    try (RandomAccessFile f = new RandomAccessFile(cow.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    CowStore store = backend.provision(request("overflow", 0, ORIGIN_BYTES));
    assertThat(backend.usage(store)).isInstanceOf(CowUsage.Sectors.class);
    byte[] early = GuestHost.pattern(64 << 10, 5);
    BlockIo.write(store.exportPath(), 0, early); // two 32 KiB chunks, copied while there is room
    byte[] big = GuestHost.pattern(4 << 20, 9);
    try {
      BlockIo.write(store.exportPath(), 1 << 20, big);
      System.out.println("the 4 MiB write returned without an error");
    } catch (RuntimeException e) {
      System.out.println("the 4 MiB write failed as expected: " + e.getMessage());
    }
    System.out.println("dmsetup status: " + Commands.run("dmsetup", "status", store.dmName()).strip());
    CowUsage usage = backend.usage(store);
    assertThat(usage).as("usage of an overflowed snapshot").isInstanceOf(CowUsage.Broken.class);
    assertThat(((CowUsage.Broken) usage).reason()).contains("Overflow");

    // What the client sees on a full PO snapshot:
    byte[] whole = BlockIo.read(store.exportPath(), 0, ORIGIN_BYTES);
    System.out.println("a full PO snapshot: all " + ORIGIN_BYTES + " bytes read without an error");
    assertThat(Arrays.copyOfRange(whole, 0, early.length)).as("writes from before the overflow").isEqualTo(early);
    int tail = 1 << 20;
    assertThat(Arrays.copyOfRange(whole, whole.length - tail, whole.length)).as("never written: the origin")
        .isEqualTo(Arrays.copyOfRange(origin, origin.length - tail, origin.length));
    assertThat(writeFails(store.exportPath(), 0)).as("rewriting a chunk already in the COW store").isTrue();
    assertThat(writeFails(store.exportPath(), ORIGIN_BYTES - (2L << 20))).as("writing a chunk never written").isTrue();
    assertThat(BlockIo.read(store.exportPath(), 0, early.length)).as("the failed rewrite changed nothing").isEqualTo(early);
    assertThat(backend.usage(store)).as("still Overflow, never Invalid").isInstanceOfSatisfying(CowUsage.Broken.class,
        b -> assertThat(b.reason()).contains("Overflow"));

    SlotPlan.Verdict verdict = SlotPlan.judge(new SlotPlan(List.of(), Optional.empty()),
        new SlotOutcome(Optional.of(store), Optional.of(usage), Optional.empty()));
    System.out.println("verdict: " + verdict);
    assertThat(verdict.phase()).isEqualTo(SlotPhase.Failed);
    assertThat(verdict.reason()).isEqualTo("CowStoreFull");
    assertThat(verdict.message()).contains(store.dmName()).contains("Overflow", "stays readable");
    assertThat(GuestHost.fileEquals(ORIGIN, origin)).as("origin file unchanged").isTrue();
    tearDownAndCheckClean(backend, "overflow", 1);
  }

  /**
   * Reclaim policy Retain: a slot with a write through its dm device is detached (dm device, COW
   * loop and the unused origin loop removed, COW file kept); provisioning it again builds a new
   * snapshot on the same persistent COW file, which serves the write. Teardown leaves nothing.
   */
  static void retain() throws IOException {
    byte[] origin = GuestHost.writeOrigin(ORIGIN, ORIGIN_BYTES, 3);
    DmSnapshotBackend backend = GuestHost.backend(STATE);
    SlotId id = new SlotId("kt", "retain", 0);
    CowStore store = backend.provision(request("retain", 0, ORIGIN_BYTES));
    long offset = 7L << 20;
    byte[] written = GuestHost.pattern(256 << 10, 77);
    BlockIo.write(store.exportPath(), offset, written);
    GuestHost.step("written through the snapshot");

    backend.detach(id, Optional.of(ORIGIN));
    assertThat(GuestHost.dmNames()).as("dm devices after detach").isEmpty();
    assertThat(GuestHost.loops()).as("loop devices after detach").isEmpty();
    assertThat(GuestHost.filesUnder(STATE)).as("the COW file stays, with its origin stamp")
        .containsExactly(store.cowStorePath(), store.cowStorePath().resolveSibling("slot-0.cow.origin"));
    GuestHost.step("detached, COW file kept");

    CowStore again = backend.provision(request("retain", 0, ORIGIN_BYTES));
    assertThat(BlockIo.read(again.exportPath(), offset, written.length)).as("the retained write is served again")
        .isEqualTo(written);
    byte[] originPart = Arrays.copyOfRange(origin, 0, 1 << 20);
    assertThat(BlockIo.read(again.exportPath(), 0, originPart.length)).as("the rest is the origin").isEqualTo(originPart);
    assertThat(GuestHost.fileEquals(ORIGIN, origin)).as("origin file unchanged").isTrue();
    GuestHost.step("re-provisioned on the kept COW file");
    tearDownAndCheckClean(backend, "retain", 1);
  }

  /** Whether a 32 KiB write at {@code offsetBytes} fails (it is printed either way). */
  private static boolean writeFails(Path device, long offsetBytes) {
    try {
      BlockIo.write(device, offsetBytes, GuestHost.pattern(32 << 10, 7));
      System.out.println("a write at byte " + offsetBytes + " of the full snapshot succeeded");
      return false;
    } catch (RuntimeException e) {
      System.out.println("a write at byte " + offsetBytes + " of the full snapshot failed: " + e.getMessage());
      return true;
    }
  }

  private static void tearDownAndCheckClean(DmSnapshotBackend backend, String pool, int slots) {
    long started = System.nanoTime();
    for (int n = slots - 1; n >= 0; n--) {
      backend.teardown(new SlotId("kt", pool, n), Optional.of(ORIGIN));
    }
    System.out.printf("[measure] %d dm-snapshot slots torn down in %.2f s%n", slots, secondsSince(started));
    assertThat(GuestHost.dmNames()).as("dm devices after teardown").isEmpty();
    assertThat(GuestHost.loops()).as("loop devices after teardown").isEmpty();
    assertThat(GuestHost.mapperNodes()).as("/dev/mapper after teardown").isEmpty();
    assertThat(GuestHost.filesUnder(STATE)).as("files under the state dir after teardown").isEmpty();
  }

  private static Process startProvisioner(String pool) throws IOException {
    List<String> argv = new ArrayList<>(GuestVm.javaMain(ProvisionSlotsMain.class, STATE.toString(), ORIGIN.toString(), pool, "8", "4"));
    return new ProcessBuilder(argv).redirectErrorStream(true).start();
  }

  /** Reads the process's output (echoing it) until a line equal to {@code wanted}. */
  private static void awaitLine(Process p, String wanted) throws IOException, InterruptedException {
    BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      System.out.println("  [provisioner " + p.pid() + "] " + line);
      if (line.equals(wanted)) {
        Thread.ofVirtual().start(() -> drain(p, in));
        return;
      }
    }
    throw new AssertionError("provisioner " + p.pid() + " ended (exit " + p.waitFor() + ") before printing '" + wanted + "'");
  }

  private static void drain(Process p, BufferedReader in) {
    try {
      String line;
      while ((line = in.readLine()) != null) {
        System.out.println("  [provisioner " + p.pid() + "] " + line);
      }
    } catch (IOException e) {
      // the process was killed; its pipe is gone
    }
  }
}
