package io.cowherd.agent.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one home of the rule "an exporter lives outside the agent's container": every vblade the
 * agent starts or adopts is moved into a cowherd-owned cgroup, {@code <hierarchy>/<name>}, in every
 * cgroup hierarchy mounted under the host cgroup root (cgroup v1: one per controller and {@code
 * name=systemd}; hybrid: those plus {@code unified}; v2: the root itself).
 *
 * <p>Why: in a pod the agent and its children sit in the container's cgroup, and every way a
 * container ends kills that cgroup's processes. runc's {@code kill --all} (what containerd's shim
 * runs when the init of a container without its own PID namespace exits: {@code
 * shouldKillAllOnExit}) freezes the container's cgroup and signals every pid in the v1 {@code
 * devices} hierarchy ({@code GetAllPids(m.Path("devices"))}); runc 1.2 and later write {@code
 * cgroup.kill} of the unified cgroup instead (v2 and hybrid); the kubelet kills every pid left in a
 * removed pod's cgroup. Moving the exporter in <em>every</em> hierarchy leaves it in none of the
 * container's cgroups, whichever one a runtime version reads. The agent pod runs with {@code
 * hostPID: true} (so the pids written here are the host's) and mounts the host's {@code
 * /sys/fs/cgroup} at {@code /host/sys/fs/cgroup}.
 *
 * <p>cgroup namespaces: a cgroup v2 hierarchy mounted with {@code nsdelegate} (systemd does) lets a
 * process move another only between cgroups below its own cgroup namespace root (kernel
 * Documentation/admin-guide/cgroup-v2.rst, "Interaction with Other Namespaces"; {@code
 * cgroup_procs_write_permission} answers ENOENT), and a pod on a v2 host gets a private cgroup
 * namespace. So the agent writes {@code cgroup.procs} directly (v1 hierarchies check only
 * credentials; so does v2 in the host's cgroup namespace), and every refused write (ENOENT; the JDK
 * does not tell errnos of write(2) apart, so any refusal) is done again as {@code nsenter --cgroup=/proc/1/ns/cgroup -- tee <those cgroup.procs>} with the pid
 * on stdin (an argv, no shell): under hostPID, {@code /proc/1} is the host's init, so the write
 * happens in the host's cgroup namespace. (Comparing {@code /proc/self/ns/cgroup} with {@code
 * /proc/1/ns/cgroup} up front would need ptrace access to pid 1, which a privileged pod has but
 * this project's test machines do not.)
 *
 * <p>v1 {@code cpuset}: a new cgroup starts with empty {@code cpuset.cpus} and {@code cpuset.mems}
 * and refuses tasks (ENOSPC); they are copied from the parent when the cgroup is created.
 *
 * <p>A wrong root is not trusted: any directory holding {@code cgroup.procs} looks like a hierarchy
 * root, so a root pointing at the container's own {@code /sys/fs/cgroup}, at one v1 controller or at
 * a cgroup below the pod's would put the exporter cgroup inside (or only partly outside) the agent's
 * cgroups. After every move {@link #enter} therefore compares, per hierarchy, {@code
 * /proc/<pid>/cgroup} of the exporter with the agent's own {@code /proc/self/cgroup} (both read by
 * the agent, so both are relative to the agent's cgroup namespace: in a private namespace the agent
 * sees itself at {@code /} and a correctly placed exporter at {@code /../..}) and refuses an exporter
 * left in or below the agent's cgroup, or one missing from a hierarchy the agent is in. {@link
 * #requireOutsideAgent} does the same with a short-lived probe process at start.
 *
 * <p>Unset ({@link #none()}): nothing is moved; the agent runs as a host process (tests, or a node
 * where the operator starts it outside Kubernetes).
 */
public final class ExporterCgroup {
  private static final Logger LOG = LoggerFactory.getLogger(ExporterCgroup.class);
  /** The default cgroup name, below each hierarchy's root. */
  public static final String DEFAULT_NAME = "cowherd-exporters";
  private static final Duration WRITE_TIMEOUT = Duration.ofSeconds(10);

  private final List<Path> cgroups;
  /** The hierarchy root each of {@link #cgroups} lies in, same order. */
  private final List<Path> hierarchies;
  /** The cgroup's path below each hierarchy root. */
  private final Path name;
  private final CommandRunner runner;
  private final Path hostCgroupNamespace;
  private final Path procRoot;
  /** The {@code /proc} entry of the agent whose cgroups exporters must leave: {@code self}, or a pid. */
  private final String agent;

  private ExporterCgroup(List<Path> hierarchies, Path name, List<Path> cgroups, CommandRunner runner,
      Path procRoot, String agent) {
    this.hierarchies = List.copyOf(hierarchies);
    this.name = name;
    this.cgroups = List.copyOf(cgroups);
    this.runner = runner;
    this.procRoot = procRoot;
    this.hostCgroupNamespace = procRoot == null ? null : procRoot.resolve("1/ns/cgroup");
    this.agent = agent;
  }

  /** No cgroup: exporters stay where the agent starts them (host-process mode). */
  public static ExporterCgroup none() {
    return new ExporterCgroup(List.of(), null, List.of(), null, null, null);
  }

  /**
   * Finds every hierarchy under {@code hostRoot} and creates {@code name} in each (existing ones are
   * kept: the exporters of the previous agent live there).
   *
   * @param hostRoot the host's cgroup mount point as the agent sees it, e.g. {@code /host/sys/fs/cgroup}
   * @param name a relative path without {@code .} or {@code ..} elements, e.g. {@code cowherd-exporters}
   * @param runner runs {@code nsenter} when a write needs the host's cgroup namespace
   * @param procRoot the proc filesystem ({@code /proc}); its {@code 1/ns/cgroup} is the host's cgroup
   *     namespace when the agent runs with hostPID
   * @throws IllegalArgumentException if {@code name} is not such a path
   * @throws IllegalStateException if no hierarchy is found under {@code hostRoot} or a cgroup cannot
   *     be created
   */
  public static ExporterCgroup under(Path hostRoot, String name, CommandRunner runner, Path procRoot) {
    return under(hostRoot, name, runner, procRoot, "self");
  }

  /**
   * As {@link #under(Path, String, CommandRunner, Path)}, with the agent whose cgroups exporters must
   * leave named by its {@code /proc} entry ({@code self} in the agent; a pid in tests whose JVM holds
   * the lab's cgroups below its own).
   */
  static ExporterCgroup under(Path hostRoot, String name, CommandRunner runner, Path procRoot, String agent) {
    Path rel = checkedName(name);
    List<Path> hierarchies = hierarchies(hostRoot);
    if (hierarchies.isEmpty()) {
      throw new IllegalStateException("no cgroup hierarchy under " + hostRoot + " (no cgroup.procs in it or its"
          + " directories): mount the host's /sys/fs/cgroup there (hostPath, with its submounts)");
    }
    List<Path> made = new ArrayList<>();
    for (Path h : hierarchies) {
      made.add(create(h, rel));
    }
    LOG.info("exporters are moved into {}", made);
    return new ExporterCgroup(hierarchies, rel, made, runner, procRoot, agent);
  }

  /** Whether exporters are moved at all. */
  public boolean enabled() {
    return !cgroups.isEmpty();
  }

  /** The exporter cgroup in each hierarchy (empty when {@link #none()}). */
  public List<Path> cgroups() {
    return cgroups;
  }

  /**
   * Moves process {@code pid} (its whole thread group) into the exporter cgroup of every hierarchy,
   * unless it is in all of them already. An exporter cgroup removed since the agent started (an
   * empty cgroup may be rmdir'ed by anyone with access to the host's cgroup tree) is created again
   * first.
   *
   * @throws ExporterCgroupException if the move failed and {@code pid} is not in every exporter cgroup
   *     (e.g. it exited meanwhile: callers check liveness), or if it is but that leaves it in or below
   *     the agent's own cgroup in some hierarchy (a wrong host cgroup root: {@link #requireOutsideAgent})
   */
  public void enter(long pid) {
    if (cgroups.isEmpty()) {
      return;
    }
    if (!contains(pid)) {
      move(pid);
    }
    requireOutside(pid);
  }

  /**
   * Refuses a host cgroup root that would leave exporters inside the agent's container: moves a
   * short-lived probe process ({@code sleep}, killed afterwards) as {@link #enter} moves an exporter.
   * Call once at start; a no-op for {@link #none()}.
   *
   * @throws ExporterCgroupException naming the hierarchies where the probe stayed in or below the
   *     agent's cgroup, or why it could not be moved
   * @throws IllegalStateException if the probe cannot be started
   */
  public void requireOutsideAgent() {
    if (cgroups.isEmpty()) {
      return;
    }
    Process probe;
    try {
      probe = new ProcessBuilder("sleep", Long.toString(WRITE_TIMEOUT.toSeconds() * 3))
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      throw new IllegalStateException("cannot start a probe process (sleep) to check the exporter cgroup: "
          + e.getMessage(), e);
    }
    try {
      enter(probe.pid());
    } finally {
      probe.destroyForcibly();
      try {
        probe.waitFor(WRITE_TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void move(long pid) {
    byte[] line = (pid + "\n").getBytes(StandardCharsets.US_ASCII);
    String failure = null;
    List<String> outsideNamespace = new ArrayList<>();
    for (int i = 0; i < cgroups.size(); i++) {
      Path c = cgroups.get(i);
      if (!Files.exists(c.resolve("cgroup.procs"))) {
        try {
          create(hierarchies.get(i), name);
          LOG.warn("exporter cgroup {} was removed; created it again", c);
        } catch (IllegalStateException e) {
          failure = e.getMessage();
          continue;
        }
      }
      try {
        Files.write(c.resolve("cgroup.procs"), line, StandardOpenOption.WRITE);
      } catch (IOException e) {
        // ENOENT from write(2) on v2 with nsdelegate (see above); the JDK reports it as a plain
        // IOException, so every refused write is tried again in the host's cgroup namespace.
        outsideNamespace.add(c.resolve("cgroup.procs").toString());
        failure = c + ": " + e.getMessage();
      }
    }
    if (!outsideNamespace.isEmpty()) {
      List<String> argv = new ArrayList<>(List.of("nsenter", "--cgroup=" + hostCgroupNamespace, "--", "tee"));
      argv.addAll(outsideNamespace);
      try {
        runner.run(new HostCommand(argv, WRITE_TIMEOUT, line));
      } catch (CommandFailedException | CommandTimedOutException e) {
        failure = failure + "; through the host's cgroup namespace: " + e.getMessage();
      }
    }
    if (!contains(pid)) {
      throw new ExporterCgroupException("cannot move pid " + pid + " into " + cgroups
          + (failure == null ? "" : ": " + failure));
    }
  }

  /**
   * Throws unless, in every hierarchy the agent is in, {@code pid} is outside the agent's cgroup
   * (neither it nor below it), both read from {@code /proc/<x>/cgroup} (lines {@code
   * id:controllers:path}, kernel Documentation/admin-guide/cgroup-v1/cgroups.rst and cgroup-v2.rst).
   */
  private void requireOutside(long pid) {
    Map<String, String> agentPaths;
    Map<String, String> pidPaths;
    try {
      agentPaths = cgroupPaths(procRoot.resolve(agent).resolve("cgroup"));
      pidPaths = cgroupPaths(procRoot.resolve(Long.toString(pid)).resolve("cgroup"));
    } catch (IOException e) {
      throw new ExporterCgroupException("cannot read the cgroups of pid " + pid + " or of the agent: " + e.getMessage());
    }
    List<String> inside = new ArrayList<>();
    for (Map.Entry<String, String> a : agentPaths.entrySet()) {
      String p = pidPaths.get(a.getKey());
      if (p == null || within(p, a.getValue())) {
        inside.add((a.getKey().isEmpty() ? "unified" : a.getKey()) + ": " + p + " (agent: " + a.getValue() + ")");
      }
    }
    if (!inside.isEmpty()) {
      throw new ExporterCgroupException("pid " + pid + " is in " + cgroups + " but still in or below the agent's own"
          + " cgroup in " + inside + ": the host cgroup root is wrong (it must be the host's /sys/fs/cgroup with"
          + " its submounts, not the container's own, one controller, or a cgroup)");
    }
  }

  /** Whether cgroup path {@code p} is {@code ancestor} or below it; {@code /..} paths lie outside a namespace root. */
  static boolean within(String p, String ancestor) {
    if (p.equals(ancestor)) {
      return true;
    }
    if (ancestor.equals("/")) {
      return !(p.equals("/..") || p.startsWith("/../"));
    }
    return p.startsWith(ancestor + "/");
  }

  /** The cgroup path per hierarchy ({@code controllers} field; empty for v2) of a {@code /proc/<x>/cgroup} file. */
  static Map<String, String> cgroupPaths(Path file) throws IOException {
    Map<String, String> paths = new TreeMap<>();
    for (String line : Files.readAllLines(file)) {
      String[] f = line.split(":", 3);
      if (f.length == 3) {
        paths.put(f[1], f[2]);
      }
    }
    return paths;
  }

  /** Whether {@code pid} is listed in the {@code cgroup.procs} of every exporter cgroup. */
  public boolean contains(long pid) {
    String wanted = Long.toString(pid);
    for (Path c : cgroups) {
      try {
        if (Files.readAllLines(c.resolve("cgroup.procs")).stream().noneMatch(wanted::equals)) {
          return false;
        }
      } catch (IOException e) {
        return false;
      }
    }
    return true;
  }

  /**
   * The hierarchy roots under {@code hostRoot}: itself if it holds {@code cgroup.procs}, else its
   * entries that do, symbolic links followed ({@code cpu -> cpu,cpuacct}) and each hierarchy taken
   * once (by real path).
   */
  static List<Path> hierarchies(Path hostRoot) {
    if (!Files.isDirectory(hostRoot)) {
      throw new IllegalStateException("host cgroup root " + hostRoot + " is not a directory: mount the host's"
          + " /sys/fs/cgroup there (hostPath, with its submounts)");
    }
    if (Files.isRegularFile(hostRoot.resolve("cgroup.procs"))) {
      return List.of(hostRoot);
    }
    java.util.TreeSet<Path> found = new java.util.TreeSet<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(hostRoot)) {
      for (Path d : dirs) {
        if (Files.isDirectory(d) && Files.isRegularFile(d.resolve("cgroup.procs"))) {
          found.add(d.toRealPath());
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot list " + hostRoot + ": " + e.getMessage(), e);
    }
    return List.copyOf(found);
  }

  private static Path checkedName(String name) {
    if (name == null || name.isBlank() || name.startsWith("/")) {
      throw new IllegalArgumentException("exporter cgroup name must be a relative path, got '" + name + "'");
    }
    Path rel = Path.of(name);
    for (Path element : rel) {
      String e = element.toString();
      if (e.equals(".") || e.equals("..")) {
        throw new IllegalArgumentException("exporter cgroup name must not hold . or .., got '" + name + "'");
      }
    }
    return rel;
  }

  /** Creates {@code rel} below hierarchy {@code h} one level at a time (v1 cpuset needs each level filled). */
  private static Path create(Path h, Path rel) {
    boolean v1 = !Files.exists(h.resolve("cgroup.controllers"));
    Path dir = h;
    for (Path element : rel) {
      Path parent = dir;
      dir = dir.resolve(element.toString());
      try {
        if (!Files.isDirectory(dir)) {
          Files.createDirectory(dir);
        }
        if (v1) {
          inheritCpuset(parent, dir);
        }
      } catch (IOException e) {
        throw new IllegalStateException("cannot create the exporter cgroup " + dir + ": " + e.getMessage(), e);
      }
    }
    return dir;
  }

  private static void inheritCpuset(Path parent, Path dir) throws IOException {
    for (String file : List.of("cpuset.cpus", "cpuset.mems")) {
      Path f = dir.resolve(file);
      if (Files.isRegularFile(f) && Files.readString(f).isBlank()) {
        Files.writeString(f, Files.readString(parent.resolve(file)).strip() + "\n");
      }
    }
  }
}
