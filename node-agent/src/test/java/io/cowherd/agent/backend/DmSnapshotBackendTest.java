package io.cowherd.agent.backend;

import static org.assertj.core.api.Assertions.as;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.InstanceOfAssertFactories.STRING;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cowherd.agent.host.Dmsetup;
import io.cowherd.agent.host.Fallocate;
import io.cowherd.agent.host.FakeCommandRunner;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.Losetup;
import io.cowherd.agent.host.SlotId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dm-snapshot command sequence, checked with a fake runner (this kernel has no device-mapper). */
class DmSnapshotBackendTest {
  private static final List<String> LIST = List.of("losetup", "--json");
  private static final List<String> INFO = List.of("dmsetup", "info");
  private static final List<String> TABLES = List.of("dmsetup", "table");
  private static final String NONE = "{\"loopdevices\": []}";
  private static final long SIZE_BYTES = 1L << 30; // 2097152 sectors

  @TempDir Path tmp;
  private Path stateDir;
  private Path control;
  /** An empty origin file: the backend stats it to stamp its identity. */
  private Path origin;
  private HostNames names;
  private FakeCommandRunner fake;
  private final SlotId id = new SlotId("lab", "debian", 0);
  private final String name = "cowherd-lab-debian-0";

  @BeforeEach
  void setUp() throws IOException {
    stateDir = Files.createDirectories(tmp.resolve("state"));
    control = Files.createFile(tmp.resolve("control"));
    origin = Files.createFile(tmp.resolve("debian.img"));
    names = new HostNames(stateDir);
    fake = new FakeCommandRunner();
  }

  private DmSnapshotBackend backend() {
    return new DmSnapshotBackend(names, new Losetup(fake), new Dmsetup(fake), control, control, new Fallocate(fake));
  }

  private CowRequest request() {
    return new CowRequest(id, origin, SIZE_BYTES, 64);
  }

  private String loops(String... entries) {
    return "{\"loopdevices\": [" + String.join(",", entries) + "]}";
  }

  private static String loop(String dev, Path back, boolean ro, String majMin) {
    return "{\"name\": \"" + dev + "\", \"back-file\": \"" + back + "\", \"ro\": " + ro + ", \"maj:min\": \"" + majMin + "\"}";
  }

  @Test
  void provisionAttachesCowAndOriginThenCreatesTheSnapshot() {
    fake.on(LIST, NONE)
        .on(List.of("losetup", "--find"), "/dev/loop1\n")
        .on(List.of("losetup", "--read-only"), "/dev/loop0\n")
        .fail(INFO, 1, "Device does not exist.\nCommand failed.\n")
        .on(List.of("dmsetup", "create"), "")
        .on(List.of("dmsetup", "mknodes"), "")
        .on(List.of("fallocate"), "");
    CowStore store = backend().provision(request());

    Path cow = stateDir.resolve("lab/debian/slot-0.cow");
    assertThat(fake.changes()).containsExactly(
        List.of("fallocate", "--length", Long.toString(DmSnapshotBackend.cowFileBytes(2097152, 64)),
            cow.resolveSibling("slot-0.cow.partial").toString()),
        List.of("losetup", "--find", "--show", cow.toString()),
        List.of("losetup", "--read-only", "--find", "--show", origin.toString()),
        List.of("dmsetup", "create", name, "--noudevsync", "--uuid", HostNames.dmUuid(id), "--table",
            "0 2097152 snapshot /dev/loop0 /dev/loop1 PO 64"),
        List.of("dmsetup", "mknodes", name));
    assertThat(store).isEqualTo(new CowStore(Path.of("/dev/mapper/" + name), cow, "/dev/loop0", "/dev/loop1", name));
    assertThat(cow).isRegularFile().hasSize(DmSnapshotBackend.cowFileBytes(2097152, 64));
    assertThat(cow.resolveSibling("slot-0.cow.partial")).doesNotExist();
  }

  @Test
  void aReservationThatCannotFitIsRefusedBeforeAnyHostChange() throws IOException {
    long usable = Files.getFileStore(stateDir).getUsableSpace();
    long sectors = (usable / 512 + (1L << 21)) & ~63L; // a COW store bigger than the filesystem's free space
    fake.on(LIST, NONE).fail(INFO, 1, "Device does not exist.\nCommand failed.\n");

    assertThatThrownBy(() -> backend().provision(new CowRequest(id, origin, sectors * 512, 64)))
        .isInstanceOfSatisfying(InsufficientSpaceException.class, e -> {
          assertThat(e.neededBytes()).isEqualTo(DmSnapshotBackend.cowFileBytes(sectors, 64));
          assertThat(e.availableBytes()).isLessThan(e.neededBytes());
          assertThat(e.getMessage()).contains("needs " + e.neededBytes() + " bytes reserved");
        });
    assertThat(fake.changes()).as("no host change").isEmpty();
    assertThat(stateDir.resolve("lab")).doesNotExist();
  }

  @Test
  void enospcFromFallocateRemovesThePartialAndRefuses() {
    fake.on(LIST, NONE).fail(INFO, 1, "Device does not exist.\nCommand failed.\n")
        .fail(List.of("fallocate"), 1, "fallocate: fallocate failed: No space left on device\n");

    assertThatThrownBy(() -> backend().provision(request())).isInstanceOf(InsufficientSpaceException.class);
    assertThat(fake.changes()).extracting(a -> a.get(0)).containsExactly("fallocate");
    assertThat(stateDir.resolve("lab/debian/slot-0.cow.partial")).doesNotExist();
    assertThat(stateDir.resolve("lab/debian/slot-0.cow")).doesNotExist();
  }

  @Test
  void anAdoptedSparseCowFileIsReservedInPlaceOnceOrReported() throws IOException {
    Path cow = Files.createDirectories(stateDir.resolve("lab/debian")).resolve("slot-0.cow");
    Files.writeString(cow, "client writes");
    CowStore store = new CowStore(Path.of("/dev/mapper/" + name), cow, "/dev/loop0", "/dev/loop1", name);
    fake.failOnce(List.of("fallocate"), 1, "fallocate: fallocate failed: No space left on device\n")
        .on(List.of("fallocate"), "");
    DmSnapshotBackend backend = backend();

    assertThat(backend.reserve(store, request())).get(as(STRING)).contains(cow.toString(), "not fully reserved");
    assertThat(backend.reserve(store, request())).isEmpty();
    assertThat(backend.reserve(store, request())).as("done once per agent life").isEmpty();

    assertThat(fake.changes()).containsExactly(
        List.of("fallocate", "--length", "13", cow.toString()),
        List.of("fallocate", "--length", "13", cow.toString()));
    assertThat(cow).hasContent("client writes");
  }

  @Test
  void provisionReusesExistingCowFileLoopsAndDevice() throws IOException {
    Path cow = Files.createDirectories(stateDir.resolve("lab/debian")).resolve("slot-0.cow");
    Files.writeString(cow, "client writes");
    fake.on(LIST, loops(loop("/dev/loop0", origin, true, "7:0"), loop("/dev/loop1", cow, false, "7:1")))
        .on(INFO, name + "|" + HostNames.dmUuid(id) + "\n")
        .on(List.of("dmsetup", "mknodes"), "");
    CowStore store = backend().provision(request());

    assertThat(fake.changes()).containsExactly(List.of("dmsetup", "mknodes", name));
    assertThat(store.originLoop()).isEqualTo("/dev/loop0");
    assertThat(store.cowLoop()).isEqualTo("/dev/loop1");
    assertThat(cow).hasContent("client writes");
  }

  @Test
  void withoutDeviceMapperNothingIsTouched() throws IOException {
    Files.delete(control);
    assertThatThrownBy(() -> backend().provision(request()))
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessage("device-mapper is not available on this node (no " + control + " or " + control
            + "; modprobe dm_snapshot)");
    assertThat(backend().find(request())).isEmpty();
    assertThat(fake.argvs()).isEmpty();
    try (var files = Files.list(stateDir)) {
      assertThat(files).isEmpty();
    }
  }

  @Test
  void aControlNodeWithoutTheKernelDriverIsNotDeviceMapper() throws IOException {
    // libdevmapper makes /dev/mapper/control (10:236) whether or not the kernel has the driver.
    Path noDriver = control.resolveSibling("sys-class-misc-device-mapper");
    DmSnapshotBackend backend = new DmSnapshotBackend(names, new Losetup(fake), new Dmsetup(fake), control, noDriver,
        new Fallocate(fake));
    assertThatThrownBy(() -> backend.provision(request())).isInstanceOf(BackendUnavailableException.class)
        .hasMessageContaining("no " + noDriver);
    assertThat(backend.find(request())).isEmpty();
    assertThat(fake.argvs()).isEmpty();
  }

  @Test
  void aDeviceWithOurNameButAnotherUuidIsNeverUsed() {
    fake.on(INFO, name + "|LVM-someone-else\n");
    assertThatThrownBy(() -> backend().find(request()))
        .isInstanceOf(HostConflictException.class)
        .hasMessageContaining("LVM-someone-else");
  }

  @Test
  void aDeviceWhoseNodeIsMissingIsNotCompleteSoTheNextProvisionRepairsIt() {
    // No /dev/mapper/<name> exists on this machine: a device left by an agent killed before mknodes.
    fake.on(INFO, name + "|" + HostNames.dmUuid(id) + "|254|3\n");
    assertThat(backend().find(request())).isEmpty();
  }

  @Test
  void usageComesFromDmsetupStatus() {
    fake.once(List.of("dmsetup", "status"), "0 2097152 snapshot 4096/2099200 16\n")
        .once(List.of("dmsetup", "status"), "0 2097152 snapshot Invalid\n");
    CowStore store = new CowStore(Path.of("/dev/mapper/" + name), Path.of("/c"), "/dev/loop0", "/dev/loop1", name);
    assertThat(backend().usage(store)).isEqualTo(new CowUsage.Sectors(4096, 2099200));
    assertThat(backend().usage(store)).isEqualTo(new CowUsage.Broken("dm snapshot " + name + " is Invalid"));
  }

  @Test
  void teardownRemovesDeviceThenCowLoopThenCowFileThenUnusedOriginLoop() throws IOException {
    Path cow = Files.createDirectories(stateDir.resolve("lab/debian")).resolve("slot-0.cow");
    Files.writeString(cow, "x");
    String originLoop = loop("/dev/loop0", origin, true, "7:0");
    fake.on(INFO, name + "|" + HostNames.dmUuid(id) + "\n")
        .once(TABLES, name + ": 0 2097152 snapshot 7:0 7:1 P 64\n")
        .once(TABLES, "No devices found\n")
        .once(LIST, loops(originLoop, loop("/dev/loop1", cow, false, "7:1")))
        .on(LIST, loops(originLoop))
        .on(List.of("dmsetup", "remove"), "")
        .on(List.of("losetup", "--detach"), "");
    backend().teardown(id, Optional.of(origin));

    assertThat(fake.changes()).containsExactly(
        List.of("dmsetup", "remove", "--noudevsync", "--retry", name),
        List.of("losetup", "--detach", "/dev/loop1"),
        List.of("losetup", "--detach", "/dev/loop0"));
    assertThat(cow).doesNotExist();
    assertThat(stateDir).exists();
    assertThat(stateDir.resolve("lab")).doesNotExist();
  }

  @Test
  void teardownKeepsTheOriginLoopWhileAnotherSlotUsesIt() throws IOException {
    Files.createDirectories(stateDir.resolve("lab/debian"));
    fake.on(INFO, name + "|" + HostNames.dmUuid(id) + "\n")
        .once(TABLES, name + ": 0 2097152 snapshot 7:0 7:1 P 64\ncowherd-lab-debian-1: 0 2097152 snapshot 7:0 7:2 P 64\n")
        .once(TABLES, "cowherd-lab-debian-1: 0 2097152 snapshot 7:0 7:2 P 64\n")
        .on(LIST, loops(loop("/dev/loop0", origin, true, "7:0")))
        .on(List.of("dmsetup", "remove"), "");
    backend().teardown(id, Optional.of(origin));

    assertThat(fake.changes()).containsExactly(List.of("dmsetup", "remove", "--noudevsync", "--retry", name));
  }

  @Test
  void busyDeviceLeavesCowDataAndAsksForRetry() throws IOException {
    Path cow = Files.createDirectories(stateDir.resolve("lab/debian")).resolve("slot-0.cow");
    Files.writeString(cow, "client writes");
    fake.on(INFO, name + "|" + HostNames.dmUuid(id) + "\n")
        .on(TABLES, name + ": 0 2097152 snapshot 7:0 7:1 P 64\n")
        .fail(List.of("dmsetup", "remove"), 1, "device-mapper: remove ioctl on " + name + " failed: Device or resource busy\n");
    assertThatThrownBy(() -> backend().teardown(id, Optional.of(origin))).isInstanceOf(TeardownIncompleteException.class);
    assertThat(cow).hasContent("client writes");
  }

  @Test
  void cowFileHoldsEveryOriginChunkPlusHeaderAndMetadata() {
    // 2097152 sectors / 64 = 32768 data chunks; 32 KiB chunks hold 2048 exceptions: 16 metadata chunks; 1 header.
    assertThat(DmSnapshotBackend.cowFileBytes(2097152, 64)).isEqualTo((1 + 32768 + 16) * 64L * 512);
    assertThat(DmSnapshotBackend.cowFileBytes(100, 8)).isEqualTo((1 + 13 + 1) * 8L * 512);
  }
}
