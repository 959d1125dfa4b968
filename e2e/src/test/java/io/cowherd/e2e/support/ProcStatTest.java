package io.cowherd.e2e.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcStatTest {
  @Test
  void aCommandNameWithSpacesAndParenthesesDoesNotShiftTheCpuFields(@TempDir Path dir) throws IOException {
    Path stat = dir.resolve("stat");
    Files.writeString(stat, "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 25 7 3 20 0 12 0 55 0 0\n");
    ProcStat s = ProcStat.read(stat);
    assertThat(s.name()).isEqualTo("a (b) c");
    assertThat(s.ownTicks()).isEqualTo(175);
    assertThat(s.childTicks()).isEqualTo(10);
    assertThat(s.secondsWithChildren()).isEqualTo(1.85);
  }

  @Test
  void thisProcessAndItsThreadsAreRead() throws IOException {
    long pid = ProcessHandle.current().pid();
    assertThat(ProcStat.of(pid).name()).isNotEmpty();
    assertThat(ProcStat.threads(pid)).containsKey(pid);
  }
}
