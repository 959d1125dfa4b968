package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class FilefragTest {
  /** Captured from e2fsprogs 1.47 on XFS after writing 3 blocks of a 16 MiB reflink clone. */
  static final String CLONE_AFTER_WRITE = """
      Filesystem type is: 58465342
      File size of /s/slot-0.img is 16777216 (4096 blocks of 4096 bytes)
       ext:     logical_offset:        physical_offset: length:   expected: flags:
         0:        0..       9:         24..        33:     10:             shared
         1:       10..      12:       4130..      4132:      3:         34:
         2:       13..    4095:         37..      4119:   4083:       4133: last,shared,eof
      /s/slot-0.img: 3 extents found
      """;

  @Test
  void argvSyncsAndIsVerbose() {
    assertThat(Filefrag.extentsCommand(Path.of("/s/slot-0.img")).argv()).containsExactly("filefrag", "-s", "-v", "/s/slot-0.img");
  }

  @Test
  void parsesExtentsAndCountsUnsharedBytes() {
    FileExtents e = Filefrag.parse(CLONE_AFTER_WRITE);
    assertThat(e.sizeBytes()).isEqualTo(16777216);
    assertThat(e.blockBytes()).isEqualTo(4096);
    assertThat(e.extents()).hasSize(3);
    assertThat(e.extents().get(2).flags()).containsExactlyInAnyOrder("last", "shared", "eof");
    assertThat(e.unsharedBytes()).isEqualTo(3 * 4096);
  }

  @Test
  void freshCloneIsFullyShared() {
    String fresh = """
        Filesystem type is: 58465342
        File size of /s/slot-0.img is 16777216 (4096 blocks of 4096 bytes)
         ext:     logical_offset:        physical_offset: length:   expected: flags:
           0:        0..    4095:         24..      4119:   4096:             last,shared,eof
        /s/slot-0.img: 1 extent found
        """;
    assertThat(Filefrag.parse(fresh).unsharedBytes()).isZero();
  }

  @Test
  void sparseFileWithoutExtentsUsesNothing() {
    String empty = "Filesystem type is: ef53\nFile size of /x is 1048576 (256 blocks of 4096 bytes)\n"
        + " ext:     logical_offset:        physical_offset: length:   expected: flags:\n/x: 0 extents found\n";
    FileExtents e = Filefrag.parse(empty);
    assertThat(e.extents()).isEmpty();
    assertThat(e.unsharedBytes()).isZero();
  }

  @Test
  void rejectsOutputWithoutSizeLine() {
    assertThatThrownBy(() -> Filefrag.parse("filefrag: Operation not supported")).isInstanceOf(IllegalArgumentException.class);
  }
}
