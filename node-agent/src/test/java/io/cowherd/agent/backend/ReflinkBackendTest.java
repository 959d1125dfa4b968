package io.cowherd.agent.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.cowherd.agent.host.Cp;
import io.cowherd.agent.host.FakeCommandRunner;
import io.cowherd.agent.host.Filefrag;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.SlotId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReflinkBackendTest {
  @TempDir Path tmp;
  private Path stateDir;
  private Path origin;
  private HostNames names;
  private final FakeCommandRunner fake = new FakeCommandRunner();
  private final SlotId id = new SlotId("lab", "debian", 2);

  @BeforeEach
  void setUp() throws IOException {
    stateDir = Files.createDirectories(tmp.resolve("state"));
    origin = Files.write(tmp.resolve("origin.img"), new byte[4096]);
    names = new HostNames(stateDir);
  }

  private ReflinkBackend backend() {
    return new ReflinkBackend(names, new Cp(fake), new Filefrag(fake));
  }

  private CowRequest request() {
    return new CowRequest(id, origin, 4096, 64);
  }

  @Test
  void stateDirWithoutReflinkIsUnavailableAndNothingRuns() throws IOException {
    String type = Files.getFileStore(tmp).type();
    assumeFalse(List.of("btrfs", "xfs").contains(type), "the temp dir's " + type + " supports reflink");
    assertThatThrownBy(() -> backend().provision(request()))
        .isInstanceOf(BackendUnavailableException.class)
        .hasMessage("state dir " + stateDir + " on filesystem " + type
            + " does not support reflink (FICLONE); use btrfs or XFS with reflink=1, or backend dm-snapshot");
    assertThat(fake.argvs()).isEmpty();
    assertThat(names.poolDir(id)).doesNotExist();
  }

  @Test
  void anExistingCloneIsReusedAsItIs() throws IOException {
    Path clone = Files.createDirectories(names.poolDir(id)).resolve("slot-2.img");
    Files.writeString(clone, "client writes");
    CowStore store = backend().provision(request());
    assertThat(store).isEqualTo(CowStore.clone(clone));
    assertThat(backend().find(request())).contains(store);
    assertThat(clone).hasContent("client writes");
    assertThat(fake.argvs()).isEmpty();
  }

  @Test
  void cloneArgvUsesReflinkAlwaysAndDiesWithTheAgent() {
    assertThat(Cp.reflinkCommand(Path.of("/images/a.img"), Path.of("/s/slot-0.img.partial")).argv())
        .containsExactly("setpriv", "--pdeathsig", "KILL", "--",
            "cp", "--reflink=always", "/images/a.img", "/s/slot-0.img.partial");
  }

  @Test
  void usageIsUnsharedBytesInSectors() {
    fake.on(List.of("filefrag"), """
        File size of /s/slot-2.img is 16777216 (4096 blocks of 4096 bytes)
         ext:     logical_offset:        physical_offset: length:   expected: flags:
           0:        0..       9:         24..        33:     10:             shared
           1:       10..      12:       4130..      4132:      3:         34:
           2:       13..    4095:         37..      4119:   4083:       4133: last,shared,eof
        """);
    assertThat(backend().usage(CowStore.clone(Path.of("/s/slot-2.img")))).isEqualTo(new CowUsage.Sectors(24, 32768));
  }

  private static final String FILEFRAG_ONE_UNSHARED_BLOCK = """
      File size of /s/slot-2.img is 4096 (1 block of 4096 bytes)
       ext:     logical_offset:        physical_offset: length:   expected: flags:
         0:        0..       0:       4130..      4130:      1:             last,eof
      """;

  private long filefragRuns() {
    return fake.argvs().stream().filter(a -> a.getFirst().equals("filefrag")).count();
  }

  /** A clone last written long ago, as a slot idles. */
  private Path quietClone() throws IOException {
    Path clone = Files.createDirectories(names.poolDir(id)).resolve("slot-2.img");
    Files.write(clone, new byte[4096]);
    Files.setLastModifiedTime(clone, FileTime.from(Instant.now().minus(Duration.ofHours(1))));
    return clone;
  }

  @Test
  void anUnchangedCloneIsMeasuredOnceUntilItIsWritten() throws IOException {
    fake.on(List.of("filefrag"), FILEFRAG_ONE_UNSHARED_BLOCK);
    Path clone = quietClone();
    ReflinkBackend backend = backend();
    CowUsage first = backend.usage(CowStore.clone(clone));
    assertThat(backend.usage(CowStore.clone(clone))).isEqualTo(first).isEqualTo(new CowUsage.Sectors(8, 8));
    assertThat(filefragRuns()).as("the second call reuses the measurement").isEqualTo(1);

    Files.write(clone, new byte[] {1}, StandardOpenOption.WRITE); // a client write through the file
    Files.setLastModifiedTime(clone, FileTime.from(Instant.now().minus(Duration.ofMinutes(30))));
    backend.usage(CowStore.clone(clone));
    assertThat(filefragRuns()).as("a written clone is measured again").isEqualTo(2);
  }

  @Test
  void aCloneWrittenJustNowIsMeasuredOnEveryCall() throws IOException {
    fake.on(List.of("filefrag"), FILEFRAG_ONE_UNSHARED_BLOCK);
    Path clone = Files.createDirectories(names.poolDir(id)).resolve("slot-2.img");
    Files.write(clone, new byte[4096]);
    ReflinkBackend backend = backend();
    backend.usage(CowStore.clone(clone));
    backend.usage(CowStore.clone(clone));
    assertThat(filefragRuns()).as("a write in the same mtime tick could follow the measurement").isEqualTo(2);
  }

  @Test
  void anUnchangedCloneIsMeasuredAgainAfterTheReuseLimit() throws IOException {
    fake.on(List.of("filefrag"), FILEFRAG_ONE_UNSHARED_BLOCK);
    Path clone = quietClone();
    long[] now = {0};
    ReflinkBackend backend = new ReflinkBackend(names, new Cp(fake), new Filefrag(fake), () -> now[0]);
    backend.usage(CowStore.clone(clone));
    now[0] += ReflinkBackend.REMEASURE_AFTER.toNanos() - 1;
    backend.usage(CowStore.clone(clone));
    assertThat(filefragRuns()).isEqualTo(1);
    now[0] += 1;
    backend.usage(CowStore.clone(clone));
    assertThat(filefragRuns()).as("another file (its origin) may have changed what it shares").isEqualTo(2);
  }

  @Test
  void promisesAreTheSizesOfTheClonesOnlyLessWhatTheyNoLongerShare() throws IOException {
    Path pool = Files.createDirectories(names.poolDir(id));
    Files.write(pool.resolve("slot-2.img"), new byte[4096]);
    Files.write(pool.resolve("slot-3.img"), new byte[8192]);
    Files.write(pool.resolve("slot-3.img.origin"), new byte[100]); // stamps, partials, strays: no promise
    Files.write(pool.resolve("slot-4.img.partial"), new byte[100]);
    Files.write(pool.resolve("slot-5.img.origin.partial"), new byte[100]);
    Files.write(stateDir.resolve("slot-6.img"), new byte[100]); // not at <ns>/<pool>/
    ReflinkBackend backend = backend();
    assertThat(backend.promisedToClones()).isEqualTo(4096 + 8192);

    fake.on(List.of("filefrag"), FILEFRAG_ONE_UNSHARED_BLOCK);
    backend.usage(CowStore.clone(pool.resolve("slot-2.img")));
    assertThat(backend.promisedToClones()).isEqualTo(8192);
  }

  @Test
  void teardownDeletesCloneAndPartialAndEmptyDirsOnly() throws IOException {
    Path pool = Files.createDirectories(names.poolDir(id));
    Files.writeString(pool.resolve("slot-2.img"), "x");
    Files.writeString(pool.resolve("slot-2.img.partial"), "x");
    Files.writeString(pool.resolve("slot-3.img"), "other slot");
    backend().teardown(id, Optional.empty());
    assertThat(pool.resolve("slot-2.img")).doesNotExist();
    assertThat(pool.resolve("slot-2.img.partial")).doesNotExist();
    assertThat(pool.resolve("slot-3.img")).hasContent("other slot");

    backend().teardown(new SlotId("lab", "debian", 3), Optional.empty());
    assertThat(stateDir.resolve("lab")).doesNotExist();
    assertThat(stateDir).exists();
    assertThat(origin).exists();
  }
}
