package io.cowherd.agent.support;

import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcesses;
import java.nio.file.Path;

/** Checks on exporter processes for host tests. */
public final class Exporters {
  private Exporters() {}

  /**
   * Whether process {@code pid} no longer runs. Not {@link ProcessHandle#isAlive()}: exporters are not
   * the test's (or the agent's) children, and a zombie waiting for its reaper (this machine's init
   * reaps orphans late) counts as alive there; this reads its state from {@code /proc/<pid>/stat}.
   */
  public static boolean ended(long pid) {
    return new VbladeProcesses(Path.of("/proc"), new Vblade("vblade")).identify(pid).isEmpty();
  }
}
