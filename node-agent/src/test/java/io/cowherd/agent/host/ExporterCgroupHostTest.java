package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.export.Backoff;
import io.cowherd.agent.export.ExporterState;
import io.cowherd.agent.export.VbladeSupervisor;
import io.cowherd.agent.support.CgroupLab;
import io.cowherd.agent.support.ExporterHolder;
import io.cowherd.agent.support.HostTools;
import io.cowherd.agent.support.Segments;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.InitiatorOptions;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An exporter outlives its agent's container: a test agent ({@link ExporterHolder}, its own JVM)
 * runs in a cgroup this test makes in every hierarchy (the "container"), starts a real vblade on a
 * veth pair this test creates, and the test then kills every process listed in that cgroup, as
 * runc's {@code kill --all} does when an agent pod ends. The cgroups live below the test JVM's own
 * cgroups ({@link CgroupLab}) and are removed afterwards; cgroup v1 (and the hybrid {@code unified}
 * tree) on this machine.
 */
@Tag("host")
class ExporterCgroupHostTest {
  private static final int SHELF = 9;
  private static final int SLOT = 7;

  @TempDir Path tmp;
  private String iface;
  private Path disk;
  private Path log;
  private Vblade vblade;
  private CgroupLab lab;
  private String agentCgroup;
  private String exporterCgroup;
  private Process holder;
  /** A stand-in agent process in the lab's "container" cgroup, for checks run from this JVM. */
  private Process agent;
  private ScheduledExecutorService scheduler;
  private VbladeSupervisor next;
  private final byte[] pattern = new byte[512];

  @BeforeEach
  void setUp() throws IOException {
    HostTools.requireRoot();
    vblade = HostTools.requireVblade();
    HostTools.requireProgram("setsid", "util-linux");
    iface = HostTools.createVethPair();
    disk = tmp.resolve("slot-7.img");
    ThreadLocalRandom.current().nextBytes(pattern);
    byte[] content = new byte[1 << 20];
    System.arraycopy(pattern, 0, content, 0, pattern.length);
    Files.write(disk, content);
    log = tmp.resolve("slot-7.vblade.log");
    lab = CgroupLab.create(tmp.resolve("host-cgroup-root"));
    String suffix = HexFormat.of().formatHex(new byte[] {(byte) ThreadLocalRandom.current().nextInt(),
        (byte) ThreadLocalRandom.current().nextInt(), (byte) ThreadLocalRandom.current().nextInt()});
    agentCgroup = "cowherd-test-agent-" + suffix;
    exporterCgroup = "cowherd-test-exporters-" + suffix;
  }

  @AfterEach
  void cleanUp() {
    if (next != null) {
      next.stop(new SlotId("lab", "holder", SLOT), List.of(disk));
      next.close();
    }
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
    if (holder != null) {
      holder.destroyForcibly();
    }
    if (agent != null) {
      agent.destroyForcibly();
    }
    HostTools.killVbladesMentioning(tmp.toString());
    HostTools.deleteVethPair(iface);
    if (lab != null) {
      List<String> left = new ArrayList<>();
      // Exited processes leave a cgroup once reaped (this machine's init reaps orphans late): retry.
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        left.clear();
        left.addAll(lab.removeCgroup(agentCgroup));
        left.addAll(lab.removeCgroup(exporterCgroup));
        return left.isEmpty();
      });
    }
  }

  @Test
  void anExporterOutlivesAKillOfEveryProcessInItsAgentsCgroupAndTheNextAgentAdoptsItUnchanged() throws Exception {
    ExecCommandRunner runner = new ExecCommandRunner();
    ExporterCgroup.under(lab.root(), agentCgroup, runner, Path.of("/proc")); // makes the "container" cgroups
    holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), ExporterHolder.class.getName(),
        lab.root().toString(), exporterCgroup, vblade.program(), Integer.toString(SHELF), Integer.toString(SLOT), iface,
        disk.toString(), log.toString())
        .redirectError(Redirect.INHERIT).start();
    lab.move(holder.pid(), agentCgroup); // the test agent now runs in its "container" cgroup, in every hierarchy
    assertThat(lab.hierarchiesHolding(agentCgroup, holder.pid())).hasSameSizeAs(lab.hierarchies());

    BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
    OutputStream in = holder.getOutputStream();
    in.write("go\n".getBytes(StandardCharsets.UTF_8));
    in.flush();
    String line = CompletableFuture.supplyAsync(() -> {
      try {
        for (String l = out.readLine(); l != null; l = out.readLine()) { // log lines come first
          if (l.startsWith("serving ") || l.startsWith("failed ")) {
            return l;
          }
          if (l.contains("would die with the agent's container")) {
            return "failed to leave the agent's cgroups: " + l;
          }
        }
        return "no answer (test agent exited)";
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }).get(60, TimeUnit.SECONDS);
    assertThat(line).as("the test agent started its exporter").startsWith("serving ");
    long exporterPid = Long.parseLong(line.substring("serving ".length()));

    VbladeProcesses processes = new VbladeProcesses(Path.of("/proc"), vblade);
    LivePid exporter = processes.identify(exporterPid).orElseThrow();
    assertThat(lab.hierarchiesHolding(agentCgroup, exporterPid)).as("in none of the agent's cgroups").isEmpty();
    assertThat(lab.hierarchiesHolding(exporterCgroup, exporterPid)).as("in the exporter cgroup of every hierarchy")
        .hasSameSizeAs(lab.hierarchies());
    assertThat(ProcessHandle.of(exporterPid).flatMap(ProcessHandle::parent).map(ProcessHandle::pid))
        .as("not the agent's child").isNotEqualTo(java.util.Optional.of(holder.pid()));
    assertThat(readSector()).as("serving on the wire").isEqualTo(pattern);

    // The runtime's kill-all: SIGKILL every process listed in the container's cgroups (runc reads
    // the devices hierarchy; every hierarchy is taken here), until none is left.
    await().atMost(Duration.ofSeconds(20)).until(() -> {
      Set<Long> victims = lab.procs(agentCgroup);
      victims.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
      return victims.isEmpty();
    });
    assertThat(holder.waitFor(10, TimeUnit.SECONDS)).as("the test agent is dead").isTrue();

    assertThat(processes.alive(exporter)).as("the exporter survived the kill-all").isTrue();
    assertThat(readSector()).as("still serving on the wire").isEqualTo(pattern);

    scheduler = Executors.newSingleThreadScheduledExecutor();
    ExporterCgroup again = ExporterCgroup.under(lab.root(), exporterCgroup, runner, Path.of("/proc"),
        Long.toString(startAgent().pid())); // the next agent runs in the same "container" cgroup
    again.requireOutsideAgent();
    next = new VbladeSupervisor(vblade, processes, scheduler, Clock.systemUTC(), Backoff.DEFAULT, id -> {},
        Segments.quiet(), again);
    ExporterState adopted = next.ensure(new SlotId("lab", "holder", SLOT), new VbladeTarget(SHELF, SLOT, iface, disk),
        log);
    assertThat(adopted.pid()).as("the same process").isEqualTo(exporterPid);
    assertThat(adopted.adopted()).isTrue();
    assertThat(adopted.restarts()).isZero();
    assertThat(processes.alive(exporter)).isTrue();
  }

  @Test
  void anExporterCgroupRemovedWhileTheAgentRunsIsCreatedAgainOnTheNextMove() throws Exception {
    ExporterCgroup.under(lab.root(), agentCgroup, new ExecCommandRunner(), Path.of("/proc"));
    ExporterCgroup cgroup = ExporterCgroup.under(lab.root(), exporterCgroup, new ExecCommandRunner(), Path.of("/proc"),
        Long.toString(startAgent().pid()));
    assertThat(lab.removeCgroup(exporterCgroup)).as("the empty exporter cgroup is removed (rmdir) at runtime").isEmpty();
    assertThat(cgroup.cgroups()).allSatisfy(c -> assertThat(c).doesNotExist());
    Process sleeper = new ProcessBuilder("sleep", "600").start();
    try {
      cgroup.enter(sleeper.pid());

      assertThat(lab.hierarchiesHolding(exporterCgroup, sleeper.pid())).as("moved into the recreated cgroup everywhere")
          .hasSameSizeAs(lab.hierarchies());
      assertThat(cgroup.contains(sleeper.pid())).isTrue();
    } finally {
      sleeper.destroyForcibly();
      sleeper.waitFor(10, TimeUnit.SECONDS); // reaped, so the cgroup can be removed in cleanUp
    }
  }

  @Test
  void aHostCgroupRootInsideTheAgentsContainerIsRefusedByTheStartProbeAndEveryMove() throws Exception {
    ExecCommandRunner runner = new ExecCommandRunner();
    ExporterCgroup.under(lab.root(), agentCgroup, runner, Path.of("/proc"));
    long agentPid = startAgent().pid();
    // The container's own /sys/fs/cgroup as a wrong --host-cgroup-root: each hierarchy is the agent's cgroup.
    Path wrong = Files.createDirectories(tmp.resolve("container-cgroup-root"));
    for (Path h : lab.hierarchies()) {
      Files.createSymbolicLink(wrong.resolve(h.getFileName()), h.resolve(agentCgroup));
    }
    ExporterCgroup cgroup = ExporterCgroup.under(wrong, exporterCgroup, runner, Path.of("/proc"), Long.toString(agentPid));
    Process exporter = new ProcessBuilder("sleep", "600").start();
    try {
      assertThatThrownBy(cgroup::requireOutsideAgent).as("the start probe")
          .isInstanceOf(ExporterCgroupException.class)
          .hasMessageContaining("still in or below the agent's own cgroup").hasMessageContaining("host cgroup root is wrong");
      assertThatThrownBy(() -> cgroup.enter(exporter.pid())).as("a move")
          .isInstanceOf(ExporterCgroupException.class).hasMessageContaining("host cgroup root is wrong");
      assertThat(cgroup.contains(exporter.pid())).as("it was moved, just not out of the container").isTrue();
    } finally {
      exporter.destroyForcibly();
      exporter.waitFor(10, TimeUnit.SECONDS);
      agent.destroyForcibly();
      agent.waitFor(10, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(20)).until(() -> lab.removeCgroup(agentCgroup + "/" + exporterCgroup).isEmpty());
    }
  }

  @Test
  void aHostCgroupRootOfOneControllerIsRefusedForAnExporterStartedInTheAgentsContainer() throws Exception {
    ExecCommandRunner runner = new ExecCommandRunner();
    ExporterCgroup.under(lab.root(), agentCgroup, runner, Path.of("/proc"));
    long agentPid = startAgent().pid();
    Path oneController = lab.hierarchies().getFirst();
    ExporterCgroup cgroup = ExporterCgroup.under(oneController, exporterCgroup, runner, Path.of("/proc"),
        Long.toString(agentPid));
    Process exporter = new ProcessBuilder("sleep", "600").start();
    try {
      lab.move(exporter.pid(), agentCgroup); // started by the agent: in its container cgroups
      assertThat(lab.hierarchies()).as("this machine mounts more than one hierarchy").hasSizeGreaterThan(1);

      assertThatThrownBy(() -> cgroup.enter(exporter.pid())).isInstanceOf(ExporterCgroupException.class)
          .hasMessageContaining("still in or below the agent's own cgroup").hasMessageContaining("host cgroup root is wrong");
      assertThat(lab.hierarchiesHolding(exporterCgroup, exporter.pid())).as("moved in the one hierarchy given")
          .containsExactly(oneController);
    } finally {
      exporter.destroyForcibly();
      exporter.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** Starts a stand-in agent ({@code sleep}) in the lab's "container" cgroup {@link #agentCgroup} (which must exist). */
  private Process startAgent() throws IOException {
    agent = new ProcessBuilder("sleep", "600").start();
    lab.move(agent.pid(), agentCgroup);
    return agent;
  }

  /** Sector 0 of the target, read by the project's initiator from the other end of the veth pair. */
  private byte[] readSector() throws IOException {
    try (AoeInitiator initiator = AoeInitiator.open(iface + "p", InitiatorOptions.defaults())) {
      return initiator.read(new AoeTarget(SHELF, SLOT), 0, 1);
    }
  }
}
