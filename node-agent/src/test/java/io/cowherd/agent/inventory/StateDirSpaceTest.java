package io.cowherd.agent.inventory;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When the state dir's filesystem counts as full: below the smaller of 64 MiB and 1%. */
class StateDirSpaceTest {
  private static final long MIB = 1L << 20;
  private static final long GIB = 1L << 30;

  @Test
  void aLargeFilesystemIsFullBelow64MiB() {
    assertThat(StateDirSpace.isFull(64 * MIB - 1, 10_000 * GIB)).isTrue();
    assertThat(StateDirSpace.isFull(64 * MIB, 10_000 * GIB)).isFalse();
    assertThat(StateDirSpace.isFull(20 * GIB, 10_000 * GIB)).as("0.2% of 10 TB still takes writes").isFalse();
  }

  @Test
  void aSmallFilesystemIsFullBelowOnePercent() {
    long size = 512 * MIB;
    long onePercent = (long) (size * 0.01);
    assertThat(StateDirSpace.isFull(onePercent - 1, size)).isTrue();
    assertThat(StateDirSpace.isFull(onePercent, size)).isFalse();
    assertThat(StateDirSpace.isFull(0, size)).isTrue();
  }

  @Test
  void checkReportsPathAndFreeBytes(@TempDir Path dir) throws IOException {
    StateDirSpace space = new StateDirSpace(dir, d -> new StateDirSpace.Report(d, 4096, 512 * MIB));
    StateDirSpace.Report r = space.check().orElseThrow();
    assertThat(r.full()).isTrue();
    assertThat(r.message()).isEqualTo("state dir " + dir + " filesystem is full (4096 bytes free): client writes fail");
  }

  @Test
  void aStateDirNotYetMadeIsNotChecked(@TempDir Path dir) throws IOException {
    StateDirSpace space = new StateDirSpace(dir.resolve("none"), d -> {
      throw new AssertionError("must not read " + d);
    });
    assertThat(space.check()).isEmpty();
  }

  @Test
  void theRealFileStoreIsRead(@TempDir Path dir) throws IOException {
    StateDirSpace.Report r = new StateDirSpace(dir).check().orElseThrow();
    assertThat(r.totalBytes()).isPositive();
    assertThat(r.usableBytes()).isBetween(0L, r.totalBytes());
  }
}
