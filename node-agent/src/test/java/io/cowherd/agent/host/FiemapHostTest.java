package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cowherd.agent.support.HostTools;
import io.cowherd.agent.support.LoopMountedFs;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Fiemap} (the ioctl) against {@link Filefrag} (the tool) on a reflink clone on a
 * loop-mounted XFS this test creates: the same unshared bytes, fresh and after writes.
 */
@Tag("host")
class FiemapHostTest {
  @TempDir Path tmp;
  private LoopMountedFs fs;
  private final Filefrag filefrag = new Filefrag(new ExecCommandRunner());
  private final Fiemap fiemap = Fiemap.open().orElseThrow(() -> new AssertionError("no native access"));

  @BeforeEach
  void setUp() throws IOException {
    HostTools.requireRoot();
    fs = LoopMountedFs.xfs(tmp, 1);
  }

  @AfterEach
  void tearDown() throws IOException {
    if (fs != null) {
      fs.close();
    }
  }

  @Test
  void unsharedBytesMatchFilefragFreshAndAfterWrites() throws IOException {
    Path origin = fs.mountPoint().resolve("origin.img");
    byte[] data = new byte[4 << 20];
    new Random(7).nextBytes(data);
    try (RandomAccessFile f = new RandomAccessFile(origin.toFile(), "rw")) {
      f.write(data);
    }
    Path clone = fs.mountPoint().resolve("clone.img");
    new Cp(new ExecCommandRunner()).reflink(origin, clone);

    FileExtents fresh = fiemap.extents(clone);
    assertThat(fresh.sizeBytes()).isEqualTo(data.length);
    assertThat(fresh.unsharedBytes()).as("a fresh clone shares every extent").isZero();
    assertThat(fresh.unsharedBytes()).isEqualTo(filefrag.extents(clone).unsharedBytes());

    try (RandomAccessFile f = new RandomAccessFile(clone.toFile(), "rw")) {
      for (long at : new long[] {0, 1 << 20, 3L << 20}) {
        f.seek(at);
        f.write(new byte[65536]);
      }
    }
    FileExtents written = fiemap.extents(clone);
    assertThat(written.unsharedBytes()).as("three 64 KiB writes unshare at least that").isGreaterThanOrEqualTo(3 * 65536);
    assertThat(written.unsharedBytes()).isEqualTo(filefrag.extents(clone).unsharedBytes());
  }

  @Test
  void aMissingFileFailsClearly() {
    assertThatThrownBy(() -> fiemap.extents(tmp.resolve("absent.img"))).isInstanceOf(CommandFailedException.class)
        .hasMessageContaining("absent.img");
  }
}
