package io.cowherd.agent.export;

import static org.awaitility.Awaitility.await;

import io.cowherd.aoe.frame.AoeMessage;
import io.cowherd.aoe.frame.AoeTarget;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The longest read stall a rogue initiator causes the slot's real client, printed (lines in the
 * test output), with the guard and the watch both off: cowherd as it was before the data path
 * guard (except that an exporter killed by a signal after serving 1 s is restarted at once). Runs
 * {@link RogueInitiatorHostTest}'s guarded and watched cases too, so one run gives before and
 * after. Not in any suite (its name matches none of surefire's includes); as root: {@code ./mvnw -pl
 * node-agent -am verify -Pall-tests -Dtest=RogueInitiatorBenchmark -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("host")
@Tag("benchmark")
class RogueInitiatorBenchmark extends RogueInitiatorHostTest {
  private static final Duration WINDOW = Duration.ofSeconds(5);

  @Test
  void unguardedExporterStallsTheClient() throws IOException {
    serve(Optional.of("switched off by the benchmark"), false);
    List<Function<AoeTarget, AoeMessage>> attacks = attacks();
    for (int i = 0; i < attacks.size(); i++) {
      client.resetStall();
      send(attacks.get(i).apply(new AoeTarget(SHELF, SLOT)));
      report.add("unguarded: single %s: longest read stall %s".formatted(NAMES.get(i), measureThenRepair()));
    }
    long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    long next = System.nanoTime();
    int sent = 0;
    client.resetStall();
    while (System.nanoTime() < end) {
      send(attacks.get(sent++ % attacks.size()).apply(new AoeTarget(SHELF, SLOT)));
      next += 100_000_000L;
      java.util.concurrent.locks.LockSupport.parkNanos(next - System.nanoTime());
    }
    report.add("unguarded: %d frames every 100 ms for 10 s, then 5 s: longest read stall %s".formatted(sent,
        measureThenRepair()));
    sent = 0;
    end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    next = System.nanoTime();
    client.resetStall();
    long reads = client.reads();
    while (System.nanoTime() < end) {
      send(attacks.get(2).apply(new AoeTarget(SHELF, SLOT)));
      sent++;
      next += 100_000_000L;
      java.util.concurrent.locks.LockSupport.parkNanos(next - System.nanoTime());
    }
    report.add("unguarded: %d crashing frames every 100 ms for 10 s: longest read stall %d ms, reads %d, restarts %d"
        .formatted(sent, client.longestStall().toMillis(), client.reads() - reads,
            supervisor.state(id).orElseThrow().restarts()));
  }

  /**
   * The longest stall since the last reset, measured until {@link #WINDOW} after the attack
   * (ongoing if the client is still locked out), then a restart to go on.
   */
  private String measureThenRepair() {
    long start = System.nanoTime();
    await().atMost(WINDOW.plusSeconds(1)).pollInterval(Duration.ofMillis(50))
        .until(() -> System.nanoTime() - start >= WINDOW.toNanos());
    boolean recovered = client.sinceLastRead().compareTo(Duration.ofSeconds(1)) < 0;
    String stall = client.longestStall().toMillis() + " ms" + (recovered ? "" : " and still locked out");
    supervisor.restore(id, "benchmark: undo the attack before the next one");
    long reads = client.reads();
    await().atMost(Duration.ofSeconds(10)).until(() -> client.reads() > reads);
    return stall;
  }
}
