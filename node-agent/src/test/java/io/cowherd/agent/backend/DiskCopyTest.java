package io.cowherd.agent.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dm-snapshot capture's copy: same bytes, zero blocks left as holes, never over an existing file. */
class DiskCopyTest {
  @TempDir Path tmp;

  @Test
  void copiesEveryByteKeepsTheSizeAndLeavesZeroBlocksAsHoles() throws Exception {
    long size = 5L * DiskCopy.BLOCK + 4096; // a partial last block, a zero tail
    Path source = tmp.resolve("disk");
    try (RandomAccessFile f = new RandomAccessFile(source.toFile(), "rw")) {
      f.setLength(size);
      f.seek(DiskCopy.BLOCK + 17);
      f.write("data in block one".getBytes());
      f.seek(3L * DiskCopy.BLOCK);
      f.write(new byte[] {1});
    }
    Path dest = tmp.resolve("copy");

    DiskCopy.sparseCopy(source, dest, size);

    assertThat(Files.size(dest)).isEqualTo(size);
    assertThat(Files.readAllBytes(dest)).isEqualTo(Files.readAllBytes(source));
    assertThat(blocksAllocated(dest)).as("two data blocks written, the rest holes").isLessThanOrEqualTo(2L * DiskCopy.BLOCK);
  }

  @Test
  void refusesAnExistingDestinationAndAShortSource() throws Exception {
    Path source = tmp.resolve("disk");
    Files.write(source, new byte[4096]);
    Path existing = Files.writeString(tmp.resolve("taken"), "keep me");

    assertThatThrownBy(() -> DiskCopy.sparseCopy(source, existing, 4096)).isInstanceOf(UncheckedIOException.class);
    assertThat(Files.readString(existing)).isEqualTo("keep me");
    assertThatThrownBy(() -> DiskCopy.sparseCopy(source, tmp.resolve("short"), 8192))
        .isInstanceOf(UncheckedIOException.class).hasMessageContaining("ends at byte 4096");
  }

  /** Bytes the file occupies on disk: st_blocks × 512 from stat(1) (Java's attribute views do not expose it). */
  private static long blocksAllocated(Path file) {
    return Long.parseLong(io.cowherd.agent.support.HostTools.run("stat", "-c", "%b", file.toString()).stdout().strip())
        * 512;
  }
}
