package io.cowherd.agent.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cowherd.agent.boot.BootStages.Change;
import io.cowherd.agent.boot.BootStages.Stage;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The stage machine on a simulated clock: what changes, and that nothing else produces a change. */
class BootStagesTest {
  private static final long MAC = 0x525400123456L;
  private final List<Change> changes = new ArrayList<>();
  private final BootStages stages = new BootStages(Duration.ofSeconds(30), changes::add);

  private List<Stage> seen() {
    return changes.stream().map(Change::stage).toList();
  }

  @Test
  void aBootGoesQueriedReadingWritingSilentWithOneChangeEach() {
    long t = 1_000_000;
    stages.queried(MAC, Instant.ofEpochMilli(t));
    long lastRead = 0;
    long lastWrite = 0;
    // 20 s of reads, judged once a second as the agent does
    for (int s = 1; s <= 20; s++) {
      lastRead = t + s * 1000L - 10;
      stages.observe(MAC, lastRead, lastWrite, t + s * 1000L);
    }
    // then reads and writes for 20 s
    for (int s = 21; s <= 40; s++) {
      lastRead = t + s * 1000L - 10;
      lastWrite = t + s * 1000L - 5;
      stages.observe(MAC, lastRead, lastWrite, t + s * 1000L);
    }
    // then reads only: stays Writing
    for (int s = 41; s <= 50; s++) {
      lastRead = t + s * 1000L - 10;
      stages.observe(MAC, lastRead, lastWrite, t + s * 1000L);
    }
    // then nothing for 40 s
    for (int s = 51; s <= 90; s++) {
      stages.observe(MAC, lastRead, lastWrite, t + s * 1000L);
    }
    assertThat(seen()).containsExactly(Stage.Reading, Stage.Writing, Stage.Silent);
    Change silent = changes.get(2);
    assertThat(silent.since()).as("the first judgement 30 s after the last read").isEqualTo(Instant.ofEpochMilli(t + 80_000));
    assertThat(silent.lastRead()).isEqualTo(Instant.ofEpochMilli(lastRead));
    assertThat(silent.lastWrite()).isEqualTo(Instant.ofEpochMilli(lastWrite));
    assertThat(stages.stage(MAC)).map(e -> e.getKey()).contains(Stage.Silent);
  }

  @Test
  void aSilentClientThatReadsAgainIsReadingAgain() {
    stages.observe(MAC, 1000, 0, 1500);
    stages.observe(MAC, 1000, 0, 40_000);
    stages.observe(MAC, 41_000, 0, 41_500);
    assertThat(seen()).containsExactly(Stage.Reading, Stage.Silent, Stage.Reading);
  }

  @Test
  void aQueryStartsANewBootAndOnlyLaterReadsMoveItOn() {
    stages.observe(MAC, 1000, 1000, 1500);
    stages.queried(MAC, Instant.ofEpochMilli(2000));
    stages.observe(MAC, 1000, 1000, 2500); // the old I/O is from before the query
    stages.observe(MAC, 3000, 1000, 3500);
    assertThat(seen()).containsExactly(Stage.Writing, Stage.Reading);
  }

  @Test
  void aWriteStampedBeforeTheTickThatSawReadingStillMovesTheClientToWriting() {
    stages.queried(MAC, Instant.ofEpochMilli(10_000));
    stages.observe(MAC, 10_500, 0, 11_000); // Reading since 11 000
    // a write at 10 800 (its batch was taken off the ring before the tick) is seen only now
    stages.observe(MAC, 11_500, 10_800, 12_000);
    assertThat(seen()).containsExactly(Stage.Reading, Stage.Writing);
  }

  @Test
  void aQueriedClientThatNeverReadsFallsSilent() {
    stages.queried(MAC, Instant.ofEpochMilli(0));
    stages.observe(MAC, 0, 0, 29_000);
    stages.observe(MAC, 0, 0, 30_000);
    assertThat(seen()).containsExactly(Stage.Silent);
  }

  @Test
  void aStageRecordedBeforeARestartFallsSilentWhenTheClientStaysQuiet() {
    stages.seed(MAC, Stage.Writing, 5_000);
    stages.seed(MAC, Stage.Reading, 6_000); // ignored: already known
    stages.observe(MAC, 0, 0, 34_000);
    stages.observe(MAC, 0, 0, 35_000);
    assertThat(seen()).containsExactly(Stage.Silent);
  }

  @Test
  void aClientNeverSeenHasNoStage() {
    stages.observe(MAC, 0, 0, 100_000);
    assertThat(changes).isEmpty();
    assertThat(stages.stage(MAC)).isEmpty();
  }

  @Test
  void aSilentTimeUnderASecondIsRefused() {
    assertThatThrownBy(() -> new BootStages(Duration.ofMillis(500), c -> { }))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
