package io.cowherd.agent.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A stand-in for the host's {@code /sys/fs/cgroup} as the agent pod sees it at {@code
 * /host/sys/fs/cgroup}, rooted at the test JVM's own cgroups: a directory holding, for every
 * cgroup hierarchy mounted on this machine, a symbolic link to the test JVM's cgroup in that
 * hierarchy (from {@code /proc/self/mountinfo} and {@code /proc/self/cgroup}). Cgroups a test makes
 * below it therefore stay inside the cgroups the test runs in (never at a hierarchy's root, never
 * outside the limits the machine put on the test). No mount is made; the links are removed with the
 * test's temporary directory. Cgroups made below it are the test's to remove ({@link #removeCgroup}).
 */
public final class CgroupLab {
  private final Path root;
  private final List<Path> hierarchies;

  private CgroupLab(Path root, List<Path> hierarchies) {
    this.root = root;
    this.hierarchies = List.copyOf(hierarchies);
  }

  /**
   * Builds the lab in {@code dir} (created).
   *
   * @throws AssertionError if no cgroup hierarchy is mounted (the test cannot run here)
   */
  public static CgroupLab create(Path dir) throws IOException {
    Files.createDirectories(dir);
    List<String[]> own = Files.readAllLines(Path.of("/proc/self/cgroup")).stream()
        .map(l -> l.split(":", 3)).filter(f -> f.length == 3).toList();
    List<Path> made = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
      String[] halves = line.split(" - ", 2);
      if (halves.length != 2) {
        continue;
      }
      String[] pre = halves[0].split(" ");
      String[] post = halves[1].split(" ");
      String fsType = post[0];
      if (!fsType.equals("cgroup") && !fsType.equals("cgroup2")) {
        continue;
      }
      String mountRoot = pre[3];
      Path mountPoint = Path.of(pre[4]);
      Set<String> options = new HashSet<>(Arrays.asList(post.length > 2 ? post[2].split(",") : new String[0]));
      for (String[] f : own) {
        boolean v2 = f[1].isEmpty();
        boolean match = fsType.equals("cgroup2") ? v2
            : !v2 && options.containsAll(Arrays.asList(f[1].split(",")));
        if (!match) {
          continue;
        }
        String rel = f[2].startsWith(mountRoot) ? f[2].substring(mountRoot.length()) : f[2];
        Path mine = mountPoint.resolve(rel.replaceFirst("^/+", ""));
        Path link = dir.resolve(mountPoint.getFileName().toString());
        if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          Files.createSymbolicLink(link, mine);
          made.add(link);
        }
        break;
      }
    }
    if (made.isEmpty()) {
      throw new AssertionError("no cgroup hierarchy is mounted on this machine (see /proc/self/mountinfo)");
    }
    return new CgroupLab(dir, made);
  }

  /** The directory to pass as {@code --host-cgroup-root}. */
  public Path root() {
    return root;
  }

  /** The hierarchy links (one per mounted hierarchy). */
  public List<Path> hierarchies() {
    return hierarchies;
  }

  /** The pids listed in {@code cgroup.procs} of {@code name} in every hierarchy, together. */
  public Set<Long> procs(String name) throws IOException {
    Set<Long> pids = new HashSet<>();
    for (Path h : hierarchies) {
      Path procs = h.resolve(name).resolve("cgroup.procs");
      if (Files.exists(procs)) {
        Files.readAllLines(procs).stream().filter(l -> !l.isBlank()).map(Long::parseLong).forEach(pids::add);
      }
    }
    return pids;
  }

  /** The hierarchies in which {@code pid} is listed in {@code name}'s {@code cgroup.procs}. */
  public List<Path> hierarchiesHolding(String name, long pid) throws IOException {
    List<Path> holding = new ArrayList<>();
    for (Path h : hierarchies) {
      Path procs = h.resolve(name).resolve("cgroup.procs");
      if (Files.exists(procs) && Files.readAllLines(procs).contains(Long.toString(pid))) {
        holding.add(h);
      }
    }
    return holding;
  }

  /**
   * Writes {@code pid} into {@code name}'s {@code cgroup.procs} in every hierarchy (the cgroup must
   * exist in each, e.g. made by {@code ExporterCgroup.under}): puts a process into a lab
   * "container" cgroup, with no check of where that is.
   */
  public void move(long pid, String name) throws IOException {
    for (Path h : hierarchies) {
      Files.writeString(h.resolve(name).resolve("cgroup.procs"), pid + "\n");
    }
  }

  /**
   * Removes cgroup {@code name} (a single path element) from every hierarchy; it must hold no process.
   *
   * @return the cgroups that could not be removed yet (still populated), with the reason
   */
  public List<String> removeCgroup(String name) {
    List<String> left = new ArrayList<>();
    for (Path h : hierarchies) {
      Path dir = h.resolve(name);
      try {
        Files.deleteIfExists(dir); // rmdir(2): cgroupfs removes the control files with the directory
      } catch (IOException e) {
        left.add(dir + ": " + e.getMessage());
      }
    }
    return left;
  }
}
