package io.cowherd.agent.inventory;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The 5 s statvfs look tells the agent when the state dir crosses 80%, 95% or full, and only then. */
class StateDirWatchTest {
  @TempDir Path stateDir;

  @Test
  void tellsOnEveryLevelChangeAndNotInBetween() throws IOException {
    long total = 10L << 30;
    AtomicLong usable = new AtomicLong(total / 2);
    AtomicInteger changes = new AtomicInteger();
    StateDirWatch watch = new StateDirWatch(
        new StateDirSpace(stateDir, dir -> new StateDirSpace.Report(dir, usable.get(), total)), changes::incrementAndGet);

    watch.look();
    assertThat(changes).hasValue(1); // first reading
    watch.look();
    assertThat(changes).hasValue(1);
    usable.set(total / 10); // 90% used
    watch.look();
    assertThat(changes).hasValue(2);
    assertThat(watch.last().orElseThrow().level()).isEqualTo(SpaceLevel.HIGH);
    usable.set(total / 25); // 96% used
    watch.look();
    usable.set(1 << 20); // full
    watch.look();
    usable.set(total / 2); // freed
    watch.look();
    assertThat(changes).hasValue(5);
    assertThat(watch.last().orElseThrow().level()).isEqualTo(SpaceLevel.OK);
  }
}
