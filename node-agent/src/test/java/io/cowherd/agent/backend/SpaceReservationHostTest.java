package io.cowherd.agent.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.host.CommandRunner;
import io.cowherd.agent.host.Cp;
import io.cowherd.agent.host.Dmsetup;
import io.cowherd.agent.host.ExecCommandRunner;
import io.cowherd.agent.host.FakeCommandRunner;
import io.cowherd.agent.host.Fallocate;
import io.cowherd.agent.host.Filefrag;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.Losetup;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.support.HostTools;
import io.cowherd.agent.support.LoopMountedFs;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Space reservation on a real filesystem: a 512 MiB loop-mounted XFS this test makes, real
 * fallocate(1), cp and filefrag. (This machine has no device-mapper, so the dm-snapshot backend
 * runs its loop and dm commands against a fake; its COW file and reservation are real.)
 */
@Tag("host")
class SpaceReservationHostTest {
  private static final long MIB = 1 << 20;

  @TempDir Path tmp;
  private LoopMountedFs fs;
  private Path images;
  private Path stateDir;
  private HostNames names;

  @BeforeEach
  void setUp() throws IOException {
    HostTools.requireRoot();
    HostTools.requireProgram("fallocate", "util-linux");
    HostTools.requireProgram("filefrag", "e2fsprogs");
    fs = LoopMountedFs.xfs(tmp, 1);
    images = Files.createDirectories(fs.mountPoint().resolve("images"));
    stateDir = Files.createDirectories(fs.mountPoint().resolve("state"));
    names = new HostNames(stateDir);
  }

  @AfterEach
  void cleanUp() throws IOException {
    if (fs != null) {
      fs.close();
    }
  }

  private long usableBytes() throws IOException {
    return Files.getFileStore(stateDir).getUsableSpace();
  }

  private static long allocatedBytes(Path file) {
    return Long.parseLong(HostTools.run("stat", "-c", "%b", file.toString()).stdout().strip()) * 512;
  }

  private Path origin(String name, long bytes) throws IOException {
    Path origin = images.resolve(name);
    byte[] block = new byte[(int) MIB];
    try (FileChannel ch = FileChannel.open(origin, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      for (long off = 0; off < bytes; off += MIB) {
        ThreadLocalRandom.current().nextBytes(block);
        ch.write(ByteBuffer.wrap(block), off);
      }
    }
    return origin;
  }

  /** Real fallocate, scripted loop and dm commands (no device-mapper on this kernel). */
  private DmSnapshotBackend dmBackend(FakeCommandRunner fake) throws IOException {
    ExecCommandRunner real = new ExecCommandRunner();
    CommandRunner runner = c -> c.argv().getFirst().equals("fallocate") ? real.run(c) : fake.run(c);
    fake.on(List.of("losetup", "--json"), "{\"loopdevices\": []}")
        .on(List.of("losetup", "--find"), "/dev/loop1\n")
        .on(List.of("losetup", "--read-only"), "/dev/loop0\n")
        .fail(List.of("dmsetup", "info"), 1, "Device does not exist.\nCommand failed.\n")
        .on(List.of("dmsetup", "create"), "")
        .on(List.of("dmsetup", "mknodes"), "");
    return new DmSnapshotBackend(names, new Losetup(runner), new Dmsetup(runner), Files.createFile(tmp.resolve("control")),
        tmp.resolve("control"), new Fallocate(runner));
  }

  @Test
  void aDmSnapshotCowFileIsReservedSoAFullFilesystemCannotTakeItsSpace() throws IOException {
    long originBytes = 64 * MIB;
    Path origin = images.resolve("sparse.img");
    try (RandomAccessFile f = new RandomAccessFile(origin.toFile(), "rw")) {
      f.setLength(originBytes); // its content does not matter here
    }
    FakeCommandRunner fake = new FakeCommandRunner();
    DmSnapshotBackend backend = dmBackend(fake);
    long before = usableBytes();

    CowStore store = backend.provision(new CowRequest(new SlotId("lab", "debian", 0), origin, originBytes, 64));

    long cowBytes = DmSnapshotBackend.cowFileBytes(originBytes / 512, 64);
    assertThat(store.cowStorePath()).hasSize(cowBytes);
    assertThat(allocatedBytes(store.cowStorePath())).as("every byte allocated up front").isGreaterThanOrEqualTo(cowBytes);
    assertThat(before - usableBytes()).as("taken from the filesystem's free space").isGreaterThanOrEqualTo(cowBytes);

    // Something else fills the filesystem to the last block...
    Path filler = fs.mountPoint().resolve("filler");
    HostTools.run("fallocate", "--length", Long.toString(usableBytes() - 4 * MIB), filler.toString());
    assertThat(usableBytes()).as("far less free than the client is about to write").isLessThan(8 * MIB);
    // ...and the client still writes its whole disk into the reserved COW file.
    byte[] chunk = new byte[(int) MIB];
    try (FileChannel ch = FileChannel.open(store.cowStorePath(), StandardOpenOption.WRITE)) {
      for (long off = 0; off < cowBytes; off += MIB) {
        ThreadLocalRandom.current().nextBytes(chunk);
        ch.write(ByteBuffer.wrap(chunk, 0, (int) Math.min(MIB, cowBytes - off)), off);
      }
      ch.force(true);
    }
    assertThat(store.cowStorePath()).hasSize(cowBytes);
  }

  @Test
  void aDmSnapshotSlotWhoseReservationDoesNotFitIsRefusedAndLeavesNothing() throws IOException {
    FakeCommandRunner fake = new FakeCommandRunner();
    DmSnapshotBackend backend = dmBackend(fake);
    long tooBig = (usableBytes() / MIB + 1) * MIB;
    Path origin = images.resolve("big.img");
    try (RandomAccessFile f = new RandomAccessFile(origin.toFile(), "rw")) {
      f.setLength(tooBig);
    }

    assertThatThrownBy(() -> backend.provision(new CowRequest(new SlotId("lab", "debian", 1), origin, tooBig, 64)))
        .isInstanceOf(InsufficientSpaceException.class)
        .hasMessageContaining("needs " + DmSnapshotBackend.cowFileBytes(tooBig / 512, 64) + " bytes reserved");
    assertThat(fake.changes()).as("no loop device, no dm device").isEmpty();
    assertThat(stateDir.resolve("lab")).doesNotExist();

    // Between the check and fallocate another writer took the space: fallocate's ENOSPC also
    // refuses, and the partial file (no data yet) is removed.
    long fits = (usableBytes() - 80 * MIB) / MIB * MIB;
    Path filler = fs.mountPoint().resolve("filler");
    DmSnapshotBackend racing = new DmSnapshotBackend(names, new Losetup(fake), new Dmsetup(fake),
        tmp.resolve("control"), tmp.resolve("control"), new Fallocate(c -> {
          HostTools.run("fallocate", "--length", Long.toString(filler.toFile().getParentFile().getUsableSpace() - MIB),
              filler.toString());
          return new ExecCommandRunner().run(c);
        }));
    Path fitting = images.resolve("fits.img");
    try (RandomAccessFile f = new RandomAccessFile(fitting.toFile(), "rw")) {
      f.setLength(fits);
    }
    assertThatThrownBy(() -> racing.provision(new CowRequest(new SlotId("lab", "debian", 2), fitting, fits, 64)))
        .isInstanceOf(InsufficientSpaceException.class);
    assertThat(stateDir.resolve("lab/debian/slot-2.cow.partial")).doesNotExist();
    assertThat(stateDir.resolve("lab/debian/slot-2.cow")).doesNotExist();
  }

  @Test
  void reflinkClonesAreAdmittedOnlyWhileTheFilesystemCanHoldEveryClonesWholeRewrite() throws IOException {
    long originBytes = 96 * MIB;
    Path origin = origin("debian.img", originBytes);
    ExecCommandRunner runner = new ExecCommandRunner();
    ReflinkBackend backend = new ReflinkBackend(names, new Cp(runner), new Filefrag(runner));
    long available = usableBytes() - 5 * MIB; // the minimum kept free on 512 MiB: 1%
    int fit = (int) (available / originBytes);
    System.out.printf("[measure] %d MiB usable on the 512 MiB XFS: room for %d clones of a %d MiB origin%n",
        usableBytes() / MIB, fit, originBytes / MIB);

    for (int n = 0; n < fit; n++) {
      backend.provision(new CowRequest(new SlotId("lab", "debian", n), origin, originBytes, 64));
    }
    SlotId refused = new SlotId("lab", "debian", fit);
    assertThatThrownBy(() -> backend.provision(new CowRequest(refused, origin, originBytes, 64)))
        .isInstanceOf(InsufficientSpaceException.class)
        .hasMessageContaining("still promised to the node's other clones");
    assertThat(names.clonePath(refused)).doesNotExist();
    assertThat(names.partialClonePath(refused)).doesNotExist();

    // Clone 0 rewrites 40 MiB: the filesystem loses 40 MiB, its promise shrinks by as much once measured.
    Path clone0 = names.clonePath(new SlotId("lab", "debian", 0));
    long promisedBefore = backend.promisedToClones();
    try (FileChannel ch = FileChannel.open(clone0, StandardOpenOption.WRITE)) {
      byte[] chunk = new byte[(int) MIB];
      for (long off = 0; off < 40 * MIB; off += MIB) {
        ThreadLocalRandom.current().nextBytes(chunk);
        ch.write(ByteBuffer.wrap(chunk), off);
      }
      ch.force(true);
    }
    CowUsage usage = backend.usage(CowStore.clone(clone0));
    assertThat(usage).isInstanceOfSatisfying(CowUsage.Sectors.class,
        u -> assertThat(u.usedSectors()).isEqualTo(40 * MIB / 512));
    assertThat(promisedBefore - backend.promisedToClones()).isEqualTo(40 * MIB);
    assertThatThrownBy(() -> backend.provision(new CowRequest(refused, origin, originBytes, 64)))
        .as("still no room").isInstanceOf(InsufficientSpaceException.class);

    backend.teardown(new SlotId("lab", "debian", 0), Optional.of(origin));
    // XFS frees the deleted clone's blocks in the background: admitted once they are free.
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
        .ignoreExceptionsInstanceOf(InsufficientSpaceException.class)
        .until(() -> backend.provision(new CowRequest(refused, origin, originBytes, 64)) != null);
    assertThat(names.clonePath(refused)).exists();
  }
}
