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
    ExporterCgroup cgroup = ExporterCgroup.under(tmp.resolve("root"), "cowherd-exporters", tee, Path.of("/proc"));

    cgroup.enter(4242);

    assertThat(ran).singleElement().satisfies(c -> {
      assertThat(c.argv()).containsExactly("nsenter", "--cgroup=/proc/1/ns/cgroup", "--", "tee", refused.toString());
      assertThat(new String(c.stdin(), StandardCharsets.US_ASCII)).isEqualTo("4242\n");
    });
    assertThat(Files.readString(v1.resolve("cowherd-exporters/cgroup.procs"))).isEqualTo("4242\n");
    assertThat(cgroup.contains(4242)).isTrue();
  }

  @Test
  void noneMovesNothing() {
    ExporterCgroup none = ExporterCgroup.none();
    none.enter(1);
    assertThat(none.enabled()).isFalse();
  }
}
