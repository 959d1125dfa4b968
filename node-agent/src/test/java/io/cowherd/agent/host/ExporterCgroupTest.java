package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ExporterCgroup} on a directory tree shaped like a cgroup mount (no kernel involved). */
class ExporterCgroupTest {
  @TempDir Path tmp;

  private Path hierarchy(String name) throws IOException {
    Path h = Files.createDirectories(tmp.resolve("root").resolve(name));
    Files.writeString(h.resolve("cgroup.procs"), "");
    return h;
  }

  @Test
  void everyHierarchyIsFoundOnceLinksFollowedAndDirectoriesWithoutCgroupProcsSkipped() throws IOException {
    hierarchy("cpu,cpuacct");
    hierarchy("memory");
    hierarchy("unified");
    Files.createDirectories(tmp.resolve("root/not-a-hierarchy"));
    Files.createSymbolicLink(tmp.resolve("root/cpu"), Path.of("cpu,cpuacct"));
    Files.createSymbolicLink(tmp.resolve("root/cpuacct"), Path.of("cpu,cpuacct"));

    assertThat(ExporterCgroup.hierarchies(tmp.resolve("root"))).extracting(p -> p.getFileName().toString())
        .containsExactly("cpu,cpuacct", "memory", "unified");
  }

  @Test
  void aPureV2MountIsOneHierarchy() throws IOException {
    Path root = Files.createDirectories(tmp.resolve("v2"));
    Files.writeString(root.resolve("cgroup.procs"), "");
    Files.createDirectories(root.resolve("kubepods.slice"));
    Files.writeString(root.resolve("kubepods.slice/cgroup.procs"), "");

    assertThat(ExporterCgroup.hierarchies(root)).containsExactly(root);
  }

  @Test
  void theNameIsARelativePathWithoutDotElements() throws IOException {
    hierarchy("memory");
    for (String bad : List.of("", "/cowherd", "../escape", "a/../b", "./x")) {
      assertThatThrownBy(() -> ExporterCgroup.under(tmp.resolve("root"), bad, c -> null, Path.of("/proc")))
          .as(bad).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void aRootWithoutHierarchiesIsRefusedAtStart() throws IOException {
    Files.createDirectories(tmp.resolve("empty"));
    assertThatThrownBy(() -> ExporterCgroup.under(tmp.resolve("empty"), "cowherd-exporters", c -> null, Path.of("/proc")))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("mount the host's /sys/fs/cgroup");
  }

  @Test
  void v1CpusetCgroupsInheritCpusAndMemsSoTheyAcceptTasks() throws IOException {
    Path cpuset = hierarchy("cpuset");
    Files.writeString(cpuset.resolve("cpuset.cpus"), "0-1\n");
    Files.writeString(cpuset.resolve("cpuset.mems"), "0\n");
    // cgroupfs creates these files with the directory; a plain directory does not, so they are made here
    Path made = cpuset.resolve("cowherd-exporters");
    Files.createDirectories(made);
    Files.writeString(made.resolve("cpuset.cpus"), "");
    Files.writeString(made.resolve("cpuset.mems"), "");
    Files.writeString(made.resolve("cgroup.procs"), "");

    ExporterCgroup.under(tmp.resolve("root"), "cowherd-exporters", c -> null, Path.of("/proc"));

    assertThat(Files.readString(made.resolve("cpuset.cpus"))).isEqualTo("0-1\n");
    assertThat(Files.readString(made.resolve("cpuset.mems"))).isEqualTo("0\n");
  }

  @Test
  void aRefusedWriteIsDoneAgainThroughTheHostCgroupNamespaceWithAnArgvAndThePidOnStdin() throws IOException {
    Path v1 = hierarchy("memory");
    Path v2 = hierarchy("unified");
    Files.createDirectories(v1.resolve("cowherd-exporters"));
    Files.writeString(v1.resolve("cowherd-exporters/cgroup.procs"), "");
    // A write to this one fails (a directory stands where cgroup.procs is), as v2 refuses a move out of the cgroupns
    Path refused = v2.resolve("cowherd-exporters/cgroup.procs");
    Files.createDirectories(refused);
    List<HostCommand> ran = new ArrayList<>();
    CommandRunner tee = command -> {
      ran.add(command);
      try { // what tee in the host's cgroup namespace achieves
        Files.delete(refused);
        Files.write(refused, command.stdin());
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      return new CommandResult(command, 0, "", "", java.time.Duration.ZERO);
    };
    // the agent in a private cgroup namespace (v2: itself at /), the moved exporter outside it (/..)
    Path proc = proc("4:memory:/kubepods/pod1/c1\n0::/\n",
        "4:memory:/cowherd-exporters\n0::/../../../cowherd-exporters\n");
    ExporterCgroup cgroup = ExporterCgroup.under(tmp.resolve("root"), "cowherd-exporters", tee, proc);

    cgroup.enter(4242);

    assertThat(ran).singleElement().satisfies(c -> {
      assertThat(c.argv()).containsExactly("nsenter", "--cgroup=" + proc.resolve("1/ns/cgroup"), "--", "tee",
          refused.toString());
      assertThat(new String(c.stdin(), StandardCharsets.US_ASCII)).isEqualTo("4242\n");
    });
    assertThat(Files.readString(v1.resolve("cowherd-exporters/cgroup.procs"))).isEqualTo("4242\n");
    assertThat(cgroup.contains(4242)).isTrue();
  }

  @Test
  void aMoveThatLeavesThePidInOrBelowTheAgentsCgroupInAnyHierarchyIsRefused() throws IOException {
    Path memory = hierarchy("memory");
    Files.createDirectories(memory.resolve("cowherd-exporters"));
    Files.writeString(memory.resolve("cowherd-exporters/cgroup.procs"), "4242\n"); // moved, as far as the root shows
    Path proc = proc("4:memory:/kubepods/pod1/c1\n3:devices:/kubepods/pod1/c1\n0::/\n",
        "4:memory:/kubepods/pod1/c1/cowherd-exporters\n3:devices:/kubepods/pod1/c1\n0::/\n");
    ExporterCgroup cgroup = ExporterCgroup.under(tmp.resolve("root"), "cowherd-exporters", c -> null, proc);

    assertThatThrownBy(() -> cgroup.enter(4242)).isInstanceOf(ExporterCgroupException.class)
        .hasMessageContaining("still in or below the agent's own cgroup")
        .hasMessageContaining("memory: /kubepods/pod1/c1/cowherd-exporters (agent: /kubepods/pod1/c1)")
        .hasMessageContaining("devices: /kubepods/pod1/c1 (agent: /kubepods/pod1/c1)")
        .hasMessageContaining("unified: / (agent: /)")
        .hasMessageContaining("the host cgroup root is wrong");
  }

  /** A fake proc root: {@code self/cgroup} (the agent's) and {@code 4242/cgroup} (the moved process's). */
  private Path proc(String agent, String pid4242) throws IOException {
    Path proc = tmp.resolve("proc");
    Files.createDirectories(proc.resolve("self"));
    Files.createDirectories(proc.resolve("4242"));
    Files.writeString(proc.resolve("self/cgroup"), agent);
    Files.writeString(proc.resolve("4242/cgroup"), pid4242);
    return proc;
  }

  @Test
  void noneMovesNothing() {
    ExporterCgroup none = ExporterCgroup.none();
    none.enter(1);
    assertThat(none.enabled()).isFalse();
  }

  @Test
  void aCgroupPathIsWithinTheAgentsOnlyAtOrBelowItAndDotDotPathsLieOutsideANamespaceRoot() {
    assertThat(ExporterCgroup.within("/kubepods/pod1/c1", "/kubepods/pod1/c1")).isTrue();
    assertThat(ExporterCgroup.within("/kubepods/pod1/c1/cowherd-exporters", "/kubepods/pod1/c1")).isTrue();
    assertThat(ExporterCgroup.within("/cowherd-exporters", "/kubepods/pod1/c1")).isFalse();
    assertThat(ExporterCgroup.within("/kubepods/pod1/c10", "/kubepods/pod1/c1")).as("a sibling sharing a prefix").isFalse();
    // private cgroup namespace: the agent sees itself at /, the host's cgroups through /..
    assertThat(ExporterCgroup.within("/", "/")).isTrue();
    assertThat(ExporterCgroup.within("/cowherd-exporters", "/")).isTrue();
    assertThat(ExporterCgroup.within("/../../../cowherd-exporters", "/")).isFalse();
    assertThat(ExporterCgroup.within("/..", "/")).isFalse();
  }

  @Test
  void procCgroupLinesAreReadPerHierarchy() throws IOException {
    Path file = tmp.resolve("cgroup");
    Files.writeString(file, "12:cpu,cpuacct:/kubepods/pod1/c1\n1:name=systemd:/a:b\n0::/../../cowherd-exporters\n");
    assertThat(ExporterCgroup.cgroupPaths(file)).containsExactlyInAnyOrderEntriesOf(java.util.Map.of(
        "cpu,cpuacct", "/kubepods/pod1/c1", "name=systemd", "/a:b", "", "/../../cowherd-exporters"));
  }
}
