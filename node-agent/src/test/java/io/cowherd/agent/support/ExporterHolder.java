package io.cowherd.agent.support;

import io.cowherd.agent.export.Backoff;
import io.cowherd.agent.export.ExporterState;
import io.cowherd.agent.export.VbladeSupervisor;
import io.cowherd.agent.host.ExecCommandRunner;
import io.cowherd.agent.host.ExporterCgroup;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.host.VbladeTarget;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * A test agent in a process of its own, so a test can put it in a cgroup and kill everything in
 * that cgroup as a container runtime does: the agent's exporter supervisor as Main wires it (with
 * the exporter cgroup, without the wire check), serving one target. Waits for a line on stdin
 * (the test moves this process into its cgroup first), starts the exporter, prints {@code serving
 * <pid>}, then runs until killed.
 *
 * <p>Arguments: host cgroup root, exporter cgroup name, vblade program, shelf, slot, interface,
 * exported file, exporter log file.
 */
public final class ExporterHolder {
  private ExporterHolder() {}

  public static void main(String[] args) throws Exception {
    Vblade vblade = new Vblade(args[2]);
    ExporterCgroup cgroup = ExporterCgroup.under(Path.of(args[0]), args[1], new ExecCommandRunner(), Path.of("/proc"));
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    VbladeSupervisor supervisor = new VbladeSupervisor(vblade, new VbladeProcesses(Path.of("/proc"), vblade), scheduler,
        Clock.systemUTC(), Backoff.DEFAULT, id -> {}, Segments.quiet(), cgroup);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    in.readLine();
    ExporterState state = supervisor.ensure(new SlotId("lab", "holder", Integer.parseInt(args[4])),
        new VbladeTarget(Integer.parseInt(args[3]), Integer.parseInt(args[4]), args[5], Path.of(args[6])),
        Path.of(args[7]));
    System.out.println(state.running() ? "serving " + state.pid() : "failed " + state);
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
