package io.cowherd.agent.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.agent.support.Segments;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A failure in the middle of starting an exporter (here: {@code /proc} cannot be listed) leaves
 * nothing registered, so the next {@link VbladeSupervisor#ensure} starts it: the 0→255 scale-up
 * bug where a parser exception left a slot without an exporter until the agent restarted.
 */
class VbladeSupervisorTest {
  @TempDir Path tmp;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private VbladeSupervisor supervisor;

  @AfterEach
  void cleanUp() {
    if (supervisor != null) {
      supervisor.stop(new SlotId("lab", "debian", 3), java.util.List.of());
      supervisor.close();
    }
    scheduler.shutdownNow();
  }

  @Test
  void anExceptionDuringStartLeavesTheSlotToBeStartedByTheNextEnsure() throws IOException {
    // A stand-in exporter: any program named vblade that runs until stopped (a loop, not exec: the
    // supervisor finds the process it started by its argv, which the shell keeps).
    Path program = tmp.resolve("bin/vblade");
    Files.createDirectories(program.getParent());
    Files.writeString(program, "#!/bin/sh\nwhile :; do sleep 1; done\n");
    Files.setPosixFilePermissions(program, PosixFilePermissions.fromString("rwx------"));
    Path proc = tmp.resolve("proc"); // missing at first: the scan fails, as an unreadable /proc would
    Vblade vblade = new Vblade(program.toString());
    supervisor = new VbladeSupervisor(vblade, new VbladeProcesses(proc, vblade), scheduler, Clock.systemUTC(),
        Backoff.DEFAULT, id -> {}, Segments.quiet());
    SlotId id = new SlotId("lab", "debian", 3);
    VbladeTarget target = new VbladeTarget(9, 3, "eth1", tmp.resolve("slot-3.img"));

    assertThatThrownBy(() -> supervisor.ensure(id, target, tmp.resolve("slot-3.log")))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("cannot list");
    assertThat(supervisor.state(id)).as("nothing half-registered").isEmpty();

    Files.createSymbolicLink(proc, Path.of("/proc")); // now readable: the real one
    ExporterState state = supervisor.ensure(id, target, tmp.resolve("slot-3.log"));

    assertThat(state.running()).as("the retry started the exporter").isTrue();
    assertThat(ProcessHandle.of(state.pid()).map(ProcessHandle::isAlive)).contains(true);
  }

  @Test
  void aStopDoesNotTakeAnUnreapedZombieOfItsPathForARunningExporter() throws IOException {
    // CI: a restore SIGKILLed pid 319 without waiting, a snapshot read it again while it exited, and
    // the teardown's stop found it as a zombie (its parent had not reaped it yet): "vblade still
    // running after SIGKILL". A fake /proc, and a pid above any pid_max, so nothing real is signalled.
    Path proc = tmp.resolve("proc");
    Path zombie = Files.createDirectories(proc.resolve("999999999"));
    Path store = tmp.resolve("slot-4.img");
    Files.writeString(zombie.resolve("cmdline"), "/usr/sbin/vblade\0-s\0--\0" + "9\0004\0eth1\0" + store + "\0");
    Files.writeString(zombie.resolve("stat"), "999999999 (vblade) S" + " 1".repeat(18) + " 4242\n");
    Vblade vblade = new Vblade("/usr/sbin/vblade");
    VbladeProcesses processes = new VbladeProcesses(proc, vblade);
    supervisor = new VbladeSupervisor(vblade, processes, scheduler, Clock.systemUTC(), Backoff.DEFAULT, id -> {},
        Segments.quiet());
    assertThat(processes.snapshot(VbladeSupervisor.SNAPSHOT_AGE).serving(store)).as("seen running").hasSize(1);

    Files.writeString(zombie.resolve("cmdline"), "");
    Files.writeString(zombie.resolve("stat"), "999999999 (vblade) Z" + " 1".repeat(18) + " 4242\n");

    SlotId id = new SlotId("lab", "debian", 4);
    supervisor.stop(id, java.util.List.of(store));
    assertThat(processes.snapshot(VbladeSupervisor.SNAPSHOT_AGE).serving(store)).isEmpty();
  }
}
