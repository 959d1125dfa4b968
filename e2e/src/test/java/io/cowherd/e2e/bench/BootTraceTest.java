package io.cowherd.e2e.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootTraceTest {
  @TempDir
  Path dir;

  @Test
  void theCommittedTraceHoldsWhatItsHeaderSays() {
    BootTrace trace = BootTrace.committed();
    String header = trace.comments().get(1);
    assertThat(header).startsWith("requests " + trace.requests().size() + " ")
        .contains("reads " + trace.requests().stream().filter(r -> !r.write()).count() + " = " + trace.readBytes() + " bytes")
        .contains("writes " + trace.requests().stream().filter(BootTrace.Request::write).count() + " = "
            + trace.writeBytes() + " bytes")
        .contains("max in flight " + trace.maxInFlight() + ",");
    assertThat(trace.requests()).extracting(BootTrace.Request::offsetMicros).isSorted();
  }

  @Test
  void runsMergeOnlyContiguousRequestsSentWhileOthersWereInFlight() throws IOException {
    Path file = dir.resolve("t.csv");
    Files.writeString(file, """
        # a trace
        0,10,2,R,1
        5,12,2,R,1
        9,14,2,R,2
        10,16,1,R,3
        11,40,2,W,1
        12,42,2,W,2
        13,50,2,W,2
        """);
    BootTrace trace = BootTrace.load(file);
    assertThat(trace.runs()).containsExactly(
        new BootTrace.Run(10, 2, false, 1),
        new BootTrace.Run(12, 5, false, 3),
        new BootTrace.Run(40, 4, true, 2),
        new BootTrace.Run(50, 2, true, 2));
    assertThat(trace.readBytes()).isEqualTo(7 * 512);
    assertThat(trace.writeBytes()).isEqualTo(6 * 512);
    assertThat(trace.distinctSectorsRead()).isEqualTo(7);
  }

  @Test
  void aBadLineIsNamed() throws IOException {
    Path file = dir.resolve("bad.csv");
    Files.writeString(file, "0,10,2,R,1\n5,12,2,X,1\n");
    assertThatThrownBy(() -> BootTrace.load(file)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("line 2");
  }
}
