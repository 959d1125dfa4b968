package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Runs harmless coreutils programs (present on every Linux machine) through commons-exec. */
class ExecCommandRunnerTest {
  private final ExecCommandRunner runner = new ExecCommandRunner();

  @Test
  void passesEachArgvElementUnquotedAndUnsplit() {
    CommandResult r = runner.run(HostCommand.of("printf", "[%s]", "0 2048 snapshot /dev/loop0 /dev/loop1 P 64", "a\"b"));
    assertThat(r.stdout()).isEqualTo("[0 2048 snapshot /dev/loop0 /dev/loop1 P 64][a\"b]");
    assertThat(r.exitCode()).isZero();
  }

  @Test
  void setsLcAllToC() {
    assertThat(runner.run(HostCommand.of("printenv", "LC_ALL")).stdout().strip()).isEqualTo("C");
  }

  @Test
  void nonZeroExitRaisesCommandFailedWithStderrAndExitCode() {
    assertThatThrownBy(() -> runner.run(HostCommand.of("ls", "/nonexistent-cowherd-path")))
        .isInstanceOfSatisfying(CommandFailedException.class, e -> {
          assertThat(e.exitCode()).isEqualTo(2);
          assertThat(e.stderr()).contains("No such file or directory");
          assertThat(e.command().argv()).containsExactly("ls", "/nonexistent-cowherd-path");
          assertThat(e.getMessage()).contains("ls /nonexistent-cowherd-path");
        });
  }

  @Test
  void missingProgramRaisesCommandFailedWithExitCodeMinusOne() {
    assertThatThrownBy(() -> runner.run(HostCommand.of("cowherd-no-such-program")))
        .isInstanceOfSatisfying(CommandFailedException.class, e -> assertThat(e.exitCode()).isEqualTo(-1));
  }

  @Test
  void overrunningCommandIsKilledAndRaisesTimedOut() {
    HostCommand slow = new HostCommand(List.of("sleep", "30"), Duration.ofMillis(300));
    assertThatThrownBy(() -> runner.run(slow))
        .isInstanceOfSatisfying(CommandTimedOutException.class, e -> assertThat(e.timeout()).isEqualTo(Duration.ofMillis(300)));
  }
}
