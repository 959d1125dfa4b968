package io.cowherd.agent.inventory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One agent per state dir, across processes; the lock dies with its holder. */
class AgentLockTest {
  @TempDir Path stateDir;

  /** A second JVM holding the lock until its stdin closes (or it is killed). */
  public static final class Holder {
    public static void main(String[] args) throws IOException {
      try (AgentLock lock = AgentLock.acquire(Path.of(args[0]))) {
        System.out.println("locked " + lock.file());
        System.out.flush();
        while (System.in.read() >= 0) {
          // hold until stdin closes
        }
      }
    }
  }

  private Process holder() throws IOException {
    String java = ProcessHandle.current().info().command().orElseThrow();
    Process p = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"), Holder.class.getName(),
        stateDir.toString())).redirectError(Redirect.INHERIT).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null && !line.startsWith("locked ")) {
      // log lines of the holder
    }
    assertThat(line).as("holder's 'locked' line").isNotNull();
    return p;
  }

  @Test
  void aSecondAgentIsRefusedWithTheHoldersPid() throws Exception {
    Process other = holder();
    try {
      assertThatThrownBy(() -> AgentLock.acquire(stateDir))
          .isInstanceOf(AgentLockedException.class)
          .hasMessageContaining("another cowherd node agent (pid " + other.pid() + ") holds "
              + stateDir.resolve(AgentLock.FILE_NAME));
    } finally {
      other.getOutputStream().close();
      assertThat(other.waitFor(20, TimeUnit.SECONDS)).isTrue();
    }
    try (AgentLock lock = AgentLock.acquire(stateDir)) {
      assertThat(Files.readString(lock.file()).strip()).isEqualTo(Long.toString(ProcessHandle.current().pid()));
    }
  }

  @Test
  void aKilledHoldersLockIsFreeAgain() throws Exception {
    Process other = holder();
    other.destroyForcibly();
    assertThat(other.waitFor(20, TimeUnit.SECONDS)).isTrue();
    try (AgentLock lock = AgentLock.acquire(stateDir)) {
      assertThat(lock.file()).exists();
    }
  }

  @Test
  void theSameProcessCannotTakeItTwice() {
    try (AgentLock first = AgentLock.acquire(stateDir)) {
      assertThatThrownBy(() -> AgentLock.acquire(stateDir))
          .isInstanceOf(AgentLockedException.class)
          .hasMessageContaining("(pid " + ProcessHandle.current().pid() + ")");
    }
    AgentLock.acquire(stateDir).close();
  }
}
