package io.cowherd.e2e.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** Finds running vblade exporters on this host by reading {@code /proc/<pid>/cmdline}. */
public final class Exporters {
  private Exporters() {}

  /** One running {@code vblade <shelf> <slot> <interface> <path>} process. */
  public record Exporter(long pid, int shelf, int slot, String interfaceName, String path) {
    /** The target in AoE notation, e.g. e7.3. */
    public String target() {
      return "e" + shelf + "." + slot;
    }
  }

  /**
   * The exporter cgroups the node agent makes on this host, {@code <hierarchy>/cowherd-exporters}
   * in every mounted hierarchy under {@code /sys/fs/cgroup} (node-agent's {@code
   * ExporterCgroup.DEFAULT_NAME}): outside a test cluster's cgroup root by design, so it removes
   * them itself.
   */
  public static List<Path> cgroups() {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> hierarchies = Files.newDirectoryStream(Path.of("/sys/fs/cgroup"))) {
      for (Path h : hierarchies) {
        Path c = h.resolve("cowherd-exporters");
        if (Files.isDirectory(c)) {
          out.add(c);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot list /sys/fs/cgroup", e);
    }
    return out;
  }

  /**
   * Removes ({@code rmdir}, so only when empty) every exporter cgroup ({@link #cgroups()}) not in
   * {@code before}, the list taken before the caller's cluster started.
   *
   * @return one line per cgroup that could not be removed (still holding processes)
   */
  public static List<String> removeCgroupsExcept(List<Path> before) {
    List<String> failed = new ArrayList<>();
    for (Path cgroup : cgroups()) {
      if (!before.contains(cgroup)) {
        Commands.Result r = Commands.exec(Duration.ofSeconds(10), List.of("rmdir", cgroup.toString()));
        if (!r.ok()) {
          failed.add("exporter cgroup " + cgroup + ": " + r.stderr().strip());
        }
      }
    }
    return failed;
  }

  /**
   * Every vblade process exporting on {@code interfaceName}: bound to it, or to an exporter link of
   * its own target ({@code cw<shelf 4 hex><slot 2 hex>}, the agent's {@code --exporter-links macvlan};
   * in a lab every such link sits on the lab's one exporter interface).
   */
  public static List<Exporter> on(String interfaceName) {
    return all().stream().filter(e -> e.interfaceName().equals(interfaceName)
        || e.interfaceName().equals(io.cowherd.agent.host.ExporterLinks.name(e.shelf(), e.slot()))).toList();
  }

  /** Every vblade process on this host whose command line could be read. */
  public static List<Exporter> all() {
    List<Exporter> found = new ArrayList<>();
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path proc : procs) {
        parse(proc).ifPresent(found::add);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot list /proc", e);
    }
    return found;
  }

  private static Optional<Exporter> parse(Path proc) {
    byte[] raw;
    try {
      raw = Files.readAllBytes(proc.resolve("cmdline"));
    } catch (IOException e) {
      return Optional.empty(); // the process exited while we looked
    }
    List<String> argv = Arrays.asList(new String(raw, StandardCharsets.UTF_8).split("\0"));
    if (argv.isEmpty() || !Path.of(argv.get(0)).getFileName().toString().equals("vblade")) {
      return Optional.empty();
    }
    // vblade [-b bufcnt] [-d] [-s] [-r] [-m mac[,mac...]] [-o offset] [-l length] shelf slot netif filename
    int n = argv.size();
    if (n < 5) {
      return Optional.empty();
    }
    try {
      return Optional.of(new Exporter(Long.parseLong(proc.getFileName().toString()),
          Integer.parseInt(argv.get(n - 4)), Integer.parseInt(argv.get(n - 3)), argv.get(n - 2), argv.get(n - 1)));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }
}
