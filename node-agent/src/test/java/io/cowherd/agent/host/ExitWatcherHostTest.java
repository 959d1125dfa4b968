package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link ExitWatcher} on this kernel: real processes ({@code sleep}), one pidfd each, one thread
 * for all. Needs Linux 5.3 or later (pidfd_open); fails loudly where it is missing.
 */
@Tag("host")
class ExitWatcherHostTest {
  private final VbladeProcesses processes = new VbladeProcesses(Path.of("/proc"), new Vblade("vblade"));
  private final List<LivePid> ended = new CopyOnWriteArrayList<>();
  private final List<Process> started = new ArrayList<>();
  private ExitWatcher watcher;

  @AfterEach
  void cleanUp() {
    started.forEach(Process::destroyForcibly);
    if (watcher != null) {
      watcher.close();
    }
  }

  private ExitWatcher open() {
    watcher = ExitWatcher.open(processes, ended::add).orElseThrow(
        () -> new AssertionError("pidfd_open(2) is unavailable: Linux 5.3 or later and --enable-native-access needed"));
    return watcher;
  }

  private LivePid sleeper() throws IOException {
    Process p = new ProcessBuilder("sleep", "600").start();
    started.add(p);
    return processes.identify(p.pid()).orElseThrow();
  }

  @Test
  void aKilledProcessIsReportedOnceAndTheOthersNot() throws IOException {
    ExitWatcher w = open();
    LivePid a = sleeper();
    LivePid b = sleeper();
    w.watch(a);
    w.watch(b);

    ProcessHandle.of(a.pid()).orElseThrow().destroyForcibly();

    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(5)).until(() -> ended.contains(a));
    assertThat(ended).containsExactly(a);
    assertThat(w.size()).isEqualTo(1);
  }

  @Test
  void aProcessGoneBeforeItIsWatchedIsReported() throws Exception {
    ExitWatcher w = open();
    LivePid a = sleeper();
    Process p = started.getFirst();
    p.destroyForcibly();
    p.waitFor(); // reaped: the pid no longer exists

    w.watch(a);

    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(5)).until(() -> ended.contains(a));
    assertThat(w.size()).isZero();
  }

  @Test
  void aForgottenProcessIsNotReported() throws Exception {
    ExitWatcher w = open();
    LivePid a = sleeper();
    LivePid b = sleeper();
    w.watch(a);
    w.watch(b);
    w.forget(a);

    ProcessHandle.of(a.pid()).orElseThrow().destroyForcibly();
    ProcessHandle.of(b.pid()).orElseThrow().destroyForcibly();

    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(5)).until(() -> ended.contains(b));
    assertThat(ended).containsExactly(b);
  }

  @Test
  void oneHundredWatchedProcessesAddOneThread() throws IOException {
    List<LivePid> all = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      all.add(sleeper()); // before counting: the JDK holds a reaper thread per child of this test
    }
    int before = ManagementFactory.getThreadMXBean().getThreadCount();
    ExitWatcher w = open();
    all.forEach(w::watch);
    int after = ManagementFactory.getThreadMXBean().getThreadCount();

    assertThat(w.size()).isEqualTo(100);
    assertThat(after - before).as("threads added by watching 100 processes").isEqualTo(1);
  }
}
