package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.support.HostTools;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A clone started through {@link Cp#diesWithAgent} dies when the agent is SIGKILLed. The "agent"
 * is a second JVM running a command through {@link ExecCommandRunner}, as the reflink backend
 * does; the command is {@code sleep} (a clone that takes long). Needs setpriv (util-linux).
 */
@Tag("host")
class CpHostTest {
  private final List<ProcessHandle> started = new ArrayList<>();

  /** Runs {@code args} through the agent's command runner, in a JVM the test kills. */
  public static final class Agent {
    public static void main(String[] args) {
      new ExecCommandRunner().run(new HostCommand(List.of(args), Duration.ofMinutes(5)));
    }
  }

  @AfterEach
  void cleanUp() {
    started.forEach(ProcessHandle::destroyForcibly);
  }

  private ProcessHandle runInAgentThenKillAgent(List<String> argv) throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"), Agent.class.getName()));
    cmd.addAll(argv);
    Process agent = new ProcessBuilder(cmd).redirectOutput(Redirect.DISCARD).redirectError(Redirect.INHERIT).start();
    started.add(agent.toHandle());
    String marker = argv.getLast();
    ProcessHandle child = await().atMost(Duration.ofSeconds(30)).until(() -> agent.descendants()
        .filter(p -> p.info().arguments().map(a -> List.of(a).contains(marker)).orElse(false)).findFirst(),
        Optional::isPresent).orElseThrow();
    started.add(child);
    agent.destroyForcibly(); // SIGKILL: no shutdown hook, no cleanup
    agent.waitFor();
    return child;
  }

  @Test
  void aCloneDiesWithItsAgent() throws Exception {
    HostTools.requireProgram("setpriv", "util-linux");
    ProcessHandle clone = runInAgentThenKillAgent(Cp.diesWithAgent("sleep", "611"));
    await().atMost(Duration.ofSeconds(5)).until(() -> !clone.isAlive());
  }

  @Test
  void withoutTheWrapperTheChildOutlivesItsAgent() throws Exception {
    ProcessHandle orphan = runInAgentThenKillAgent(List.of("sleep", "612"));
    assertThat(orphan.onExit().completeOnTimeout(null, 2, java.util.concurrent.TimeUnit.SECONDS).get())
        .as("still running 2 s after the agent died").isNull();
    assertThat(orphan.isAlive()).isTrue();
  }

  @Test
  void theWrappedArgvRunsTheCommand() throws IOException {
    HostTools.requireProgram("setpriv", "util-linux");
    CommandResult r = new ExecCommandRunner().run(new HostCommand(Cp.diesWithAgent("echo", "cloned"), Duration.ofSeconds(10)));
    assertThat(r.stdout()).isEqualTo("cloned\n");
  }
}
