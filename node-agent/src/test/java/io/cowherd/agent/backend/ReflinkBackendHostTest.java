package io.cowherd.agent.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cowherd.agent.host.Cp;
import io.cowherd.agent.host.ExecCommandRunner;
import io.cowherd.agent.host.Filefrag;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.support.HostTools;
import io.cowherd.agent.support.LoopMountedFs;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real FICLONE clones on a loop-mounted XFS (mkfs.xfs -m reflink=1), real cp and filefrag. */
@Tag("host")
class ReflinkBackendHostTest {
  private static final int ORIGIN_BYTES = 16 << 20;

  @TempDir Path tmp;
  private LoopMountedFs fs;

  @BeforeEach
  void requireHost() {
    HostTools.requireRoot();
    HostTools.requireProgram("filefrag", "e2fsprogs");
  }

  @AfterEach
  void unmount() throws IOException {
    if (fs != null) {
      fs.close();
    }
  }

  private static ReflinkBackend backend(Path stateDir) {
    ExecCommandRunner runner = new ExecCommandRunner();
    return new ReflinkBackend(new HostNames(stateDir), new Cp(runner), new Filefrag(runner));
  }

  private static Path origin(Path dir) throws IOException {
    byte[] data = new byte[ORIGIN_BYTES];
    new Random(42).nextBytes(data);
    return Files.write(Files.createDirectories(dir).resolve("origin.img"), data);
  }

  @Test
  void clonesShareTheOriginAndOnlyAWrittenCloneUsesSpace() throws Exception {
    fs = LoopMountedFs.xfs(tmp, 1);
    Path origin = origin(fs.mountPoint().resolve("images"));
    String originSha = sha256(origin);
    Path stateDir = Files.createDirectories(fs.mountPoint().resolve("state"));
    ReflinkBackend backend = backend(stateDir);
    SlotId s0 = new SlotId("lab", "debian", 0);
    SlotId s1 = new SlotId("lab", "debian", 1);

    CowStore c0 = backend.provision(new CowRequest(s0, origin, ORIGIN_BYTES, 64));
    CowStore c1 = backend.provision(new CowRequest(s1, origin, ORIGIN_BYTES, 64));
    assertThat(c0.exportPath()).isEqualTo(stateDir.resolve("lab/debian/slot-0.img")).hasSize(ORIGIN_BYTES);
    assertThat(stateDir.resolve("lab/debian/slot-0.img.partial")).doesNotExist();
    assertThat(sha256(c0.exportPath())).isEqualTo(originSha);
    assertThat(backend.usage(c0)).isEqualTo(new CowUsage.Sectors(0, ORIGIN_BYTES / 512));

    byte[] written = "written by the client of slot 0".repeat(400).getBytes();
    try (RandomAccessFile f = new RandomAccessFile(c0.exportPath().toFile(), "rw")) {
      f.seek(40960);
      f.write(written);
    }

    assertThat(sha256(origin)).as("origin unchanged").isEqualTo(originSha);
    assertThat(backend.usage(c0)).isInstanceOfSatisfying(CowUsage.Sectors.class,
        u -> assertThat(u.usedSectors()).isGreaterThanOrEqualTo(written.length / 512));
    assertThat(backend.usage(c1)).isEqualTo(new CowUsage.Sectors(0, ORIGIN_BYTES / 512));

    CowStore again = backend.provision(new CowRequest(s0, origin, ORIGIN_BYTES, 64));
    assertThat(again).isEqualTo(c0);
    assertThat(sha256(c0.exportPath())).as("existing clone reused, writes kept").isNotEqualTo(originSha);

    backend.teardown(s0, Optional.of(origin));
    assertThat(c0.exportPath()).doesNotExist();
    assertThat(c1.exportPath()).exists();
    assertThat(sha256(origin)).isEqualTo(originSha);
  }

  @Test
  void stateDirOnExt4OrTmpfsHasNoReflink() throws IOException {
    Path origin = origin(tmp.resolve("images"));
    Path stateDir = Files.createDirectories(tmp.resolve("state"));
    String type = Files.getFileStore(stateDir).type();
    assertThatThrownBy(() -> backend(stateDir).provision(new CowRequest(new SlotId("lab", "p", 0), origin, ORIGIN_BYTES, 64)))
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessage("state dir " + stateDir + " on filesystem " + type
            + " does not support reflink (FICLONE); use btrfs or XFS with reflink=1, or backend dm-snapshot");
    assertThat(stateDir.resolve("lab")).doesNotExist();
  }

  @Test
  void xfsWithoutReflinkIsUnavailableAndLeavesNoPartialClone() throws IOException {
    fs = LoopMountedFs.xfs(tmp, 0);
    Path origin = origin(fs.mountPoint().resolve("images"));
    Path stateDir = Files.createDirectories(fs.mountPoint().resolve("state"));
    SlotId id = new SlotId("lab", "p", 0);
    assertThatThrownBy(() -> backend(stateDir).provision(new CowRequest(id, origin, ORIGIN_BYTES, 64)))
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessageContaining("on filesystem xfs does not support reflink (FICLONE)");
    assertThat(new HostNames(stateDir).partialClonePath(id)).doesNotExist();
    assertThat(new HostNames(stateDir).clonePath(id)).doesNotExist();
  }

  @Test
  void originOnAnotherFilesystemCannotBeCloned() throws IOException {
    fs = LoopMountedFs.xfs(tmp, 1);
    Path origin = origin(tmp.resolve("images"));
    Path stateDir = Files.createDirectories(fs.mountPoint().resolve("state"));
    assertThatThrownBy(() -> backend(stateDir).provision(new CowRequest(new SlotId("lab", "p", 0), origin, ORIGIN_BYTES, 64)))
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessageContaining("are on different filesystems");
  }

  private static String sha256(Path file) throws IOException, NoSuchAlgorithmException {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }
}
