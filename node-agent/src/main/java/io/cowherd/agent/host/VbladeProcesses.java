package io.cowherd.agent.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds running vblade processes by reading {@code /proc/<pid>/cmdline} (NUL-separated argv). A
 * process whose argv[0] ends in the vblade program name and whose arguments parse as vblade's is
 * reported, whoever started it. Any other process, whatever its argv (a process may write
 * anything there, e.g. argv[0] {@code /}), is skipped: a scan never throws because of what
 * another process shows.
 *
 * <p>A full scan reads every {@code /proc/<pid>/cmdline}; {@link #snapshot(Duration)} shares one
 * full scan, indexed by address and by path, between all callers for up to the age they accept
 * (one full scan per reconcile batch, not two per exporter start). Within that age each caller
 * still gets the processes of now: {@code /proc} is listed again (one readdir) and only pids that
 * appeared since are read, pids that vanished are dropped (a pid cannot be handed out again within
 * that age: the kernel cycles through all of pid_max first; a process that was seen before it
 * exec'd vblade shows up at the next full scan). The supervisor records its own starts and stops
 * at once ({@link #started}, {@link #ended}). Liveness of a known process is one read of its {@code
 * /proc/<pid>/stat} ({@link #alive}).
 */
public final class VbladeProcesses {
  private static final Logger LOG = LoggerFactory.getLogger(VbladeProcesses.class);

  /** How long {@link #findStarted} keeps looking for a child whose cmdline reads empty during its exec. */
  static final Duration SEARCH_WAIT = Duration.ofMillis(250);

  private final Path procRoot;
  private final String programName;
  /** Maps an exporter link to its NIC ({@link ExporterLinks#nicOf}); empty for any other interface. */
  private final java.util.function.Function<String, Optional<String>> nicOfLink;
  /** Every pid seen by the last scan (vblade or not), and the vblade processes among them. */
  private final java.util.Set<Long> seen = new java.util.HashSet<>();
  private final Map<Long, VbladeProcess> vblades = new HashMap<>();
  private long fullScanAtNanos;
  private boolean scanned;
  /** The snapshot of {@link #vblades} as last handed out; null once they changed. */
  private Snapshot current;

  /** One scan of {@code /proc}, indexed by AoE address (shelf, slot, interface) and by exported path. */
  public static final class Snapshot {
    private final List<VbladeProcess> all;
    private final Map<String, List<VbladeProcess>> byAddress = new HashMap<>();
    private final Map<Path, List<VbladeProcess>> byPath = new HashMap<>();

    /** @param all every vblade process seen */
    public Snapshot(List<VbladeProcess> all) {
      this.all = List.copyOf(all);
      for (VbladeProcess p : this.all) {
        VbladeTarget t = p.target();
        byAddress.computeIfAbsent(address(t.shelf(), t.slot(), t.iface()), k -> new ArrayList<>()).add(p);
        if (t.ownLink()) {
          byAddress.computeIfAbsent(address(t.shelf(), t.slot(), t.link()), k -> new ArrayList<>()).add(p);
        }
        byPath.computeIfAbsent(t.path(), k -> new ArrayList<>()).add(p);
      }
    }

    /** Every vblade process seen. */
    public List<VbladeProcess> all() {
      return all;
    }

    /** Processes claiming {@code target}'s shelf, slot and interface ({@link VbladeTarget#sameAddress}). */
    public List<VbladeProcess> claiming(VbladeTarget target) {
      List<VbladeProcess> onNic = byAddress.getOrDefault(address(target.shelf(), target.slot(), target.iface()), List.of());
      if (!target.ownLink()) {
        return List.copyOf(onNic);
      }
      java.util.LinkedHashSet<VbladeProcess> both = new java.util.LinkedHashSet<>(onNic);
      both.addAll(byAddress.getOrDefault(address(target.shelf(), target.slot(), target.link()), List.of()));
      return List.copyOf(both);
    }

    /** Processes serving {@code path}. */
    public List<VbladeProcess> serving(Path path) {
      return List.copyOf(byPath.getOrDefault(path, List.of()));
    }

    private static String address(int shelf, int slot, String iface) {
      return shelf + "." + slot + "@" + iface;
    }
  }

  /**
   * @param procRoot the proc filesystem, normally {@code /proc}
   * @param vblade the vblade program whose processes to find
   */
  public VbladeProcesses(Path procRoot, Vblade vblade) {
    this(procRoot, vblade, link -> Optional.empty());
  }

  /**
   * @param procRoot the proc filesystem, normally {@code /proc}
   * @param vblade the vblade program whose processes to find
   * @param links exporter links: a vblade bound to one of them is reported on the link's NIC
   *     ({@link VbladeTarget#iface()}) with the link as {@link VbladeTarget#link()}, so that its claim
   *     is judged on the segment it answers on
   */
  public VbladeProcesses(Path procRoot, Vblade vblade, ExporterLinks links) {
    this(procRoot, vblade, links::nicOf);
  }

  private VbladeProcesses(Path procRoot, Vblade vblade, java.util.function.Function<String, Optional<String>> nicOfLink) {
    this.procRoot = procRoot;
    this.programName = vblade.programName();
    this.nicOfLink = nicOfLink;
  }

  /**
   * Whether this reads the host's own {@code /proc} (pids it reports are real, so a pidfd of one
   * refers to that process; not so for a directory a test fills in).
   */
  public boolean isHostProc() {
    return procRoot.toAbsolutePath().normalize().equals(Path.of("/proc"));
  }

  /** Every vblade process now running (processes that exit during the scan are skipped). */
  public List<VbladeProcess> scan() {
    List<VbladeProcess> found = new ArrayList<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(procRoot, p -> isPid(p.getFileName().toString()))) {
      for (Path dir : dirs) {
        readArgv(dir.resolve("cmdline")).flatMap(this::asVblade)
            .flatMap(a -> pid(dir).map(pid -> new VbladeProcess(pid, a.target(), a.options())))
            .ifPresent(found::add);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot list " + procRoot + ": " + e.getMessage(), e);
    }
    return List.copyOf(found);
  }

  /** Running vblade processes that claim {@code target}'s shelf, slot and interface. */
  public List<VbladeProcess> claiming(VbladeTarget target) {
    return scan().stream().filter(p -> p.target().sameAddress(target)).toList();
  }

  /**
   * The last snapshot if it is younger than {@code maxAge}, else a new full scan (which every later
   * caller shares). {@link Duration#ZERO} always scans.
   *
   * @throws IllegalStateException if {@code /proc} cannot be listed
   */
  public synchronized Snapshot snapshot(Duration maxAge) {
    long now = System.nanoTime();
    boolean full = !scanned || maxAge.isZero() || now - fullScanAtNanos > maxAge.toNanos();
    // File.list: names only (no Path per entry); called for every slot of a bring-up (issue 11).
    String[] names = procRoot.toFile().list();
    if (names == null) {
      throw new IllegalStateException("cannot list " + procRoot);
    }
    java.util.Set<Long> pids = new java.util.HashSet<>(names.length * 2);
    for (String name : names) {
      if (isPid(name)) {
        pid(name).ifPresent(pids::add);
      }
    }
    if (full) {
      seen.clear();
      vblades.clear();
      fullScanAtNanos = now;
      scanned = true;
      this.current = null;
    }
    if (vblades.keySet().retainAll(pids)) {
      this.current = null;
    }
    seen.retainAll(pids);
    for (long pid : pids) {
      if (seen.add(pid)) {
        Optional<Vblade.ParsedArgs> args = readArgv(procRoot.resolve(Long.toString(pid)).resolve("cmdline"))
            .flatMap(this::asVblade);
        if (args.isPresent()) {
          vblades.put(pid, new VbladeProcess(pid, args.get().target(), args.get().options()));
          this.current = null;
        }
      }
    }
    if (this.current == null) { // indexed again only when the vblade processes changed
      this.current = new Snapshot(List.copyOf(vblades.values()));
    }
    return this.current;
  }

  /** Records in the shared snapshot an exporter this agent just started (or adopted). */
  public synchronized void started(VbladeProcess p) {
    if (scanned) {
      seen.add(p.pid());
      vblades.put(p.pid(), p);
      current = null;
    }
  }

  /**
   * Removes from the shared snapshot every process among {@code seen} that no longer runs ({@link
   * #identify}: gone, or a zombie whose {@code /proc} entry stays until it is reaped, proc(5)); one
   * {@code stat} read each. A zombie's pid is read again at the next snapshot, and a zombie's
   * {@code cmdline} is empty, so it does not come back.
   *
   * @return whether any was removed
   */
  public boolean dropEnded(Collection<VbladeProcess> seen) {
    boolean dropped = false;
    for (VbladeProcess p : seen) {
      if (identify(p.pid()).isEmpty()) {
        ended(p.pid());
        dropped = true;
      }
    }
    return dropped;
  }

  /** Removes from the shared snapshot a process this agent ended (its pid is read again if it shows up). */
  public synchronized void ended(long pid) {
    if (vblades.remove(pid) != null) {
      current = null;
    }
    seen.remove(pid);
  }

  /**
   * The process this agent just started through a launcher that forks it ({@code setsid --fork}):
   * a process whose cmdline ends with {@code argv} (before its exec the child still shows the
   * launcher's argv, which ends with it; a script shows its interpreter first). Pids just above
   * {@code launcherPid} are looked at first (the kernel hands out pids in ascending order), then
   * all of {@code /proc}.
   *
   * <p>Not found at once, the pids above the launcher are looked at again every millisecond for up to
   * {@link #SEARCH_WAIT} (during execve(2) a process's cmdline reads empty for a moment).
   * A child found before its exec is waited for (up to {@code execWait}, polling its cmdline
   * every millisecond) until it shows {@code argv}, so that every later scan sees it as the exporter.
   *
   * @param launcherArgv what the child shows before its exec
   * @param exclude pids never to report (processes of the same argv that are being ended)
   * @return the process, or empty if none runs (it already exited)
   */
  public Optional<LivePid> findStarted(List<String> argv, List<String> launcherArgv, long launcherPid,
      Collection<Long> exclude, Duration execWait) {
    Optional<LivePid> hit = Optional.empty();
    // While the child is inside execve(2) its cmdline reads empty for a moment: look again, every
    // millisecond, for up to SEARCH_WAIT (a vblade that exits at once costs that long).
    long searchUntil = System.nanoTime() + SEARCH_WAIT.toNanos();
    while (true) {
      for (long pid = launcherPid + 1; pid <= launcherPid + 64 && hit.isEmpty(); pid++) {
        hit = startedAs(pid, argv, exclude);
      }
      if (hit.isPresent() || System.nanoTime() > searchUntil) {
        break;
      }
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    if (hit.isEmpty()) { // pids wrapped around pid_max: anywhere
      try (DirectoryStream<Path> dirs = Files.newDirectoryStream(procRoot, p -> isPid(p.getFileName().toString()))) {
        for (Path dir : dirs) {
          hit = pid(dir).flatMap(pid -> startedAs(pid, argv, exclude));
          if (hit.isPresent()) {
            break;
          }
        }
      } catch (IOException e) {
        throw new IllegalStateException("cannot list " + procRoot + ": " + e.getMessage(), e);
      }
    }
    if (hit.isPresent()) {
      Path cmdline = procRoot.resolve(Long.toString(hit.get().pid())).resolve("cmdline");
      long deadline = System.nanoTime() + execWait.toNanos();
      while (readArgv(cmdline).filter(launcherArgv::equals).isPresent() && System.nanoTime() < deadline) {
        try {
          Thread.sleep(1);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      LivePid found = hit.get();
      return alive(found) ? hit : Optional.empty();
    }
    return Optional.empty();
  }

  private Optional<LivePid> startedAs(long pid, List<String> argv, Collection<Long> exclude) {
    if (exclude.contains(pid)) {
      return Optional.empty();
    }
    Optional<List<String>> cmdline = readArgv(procRoot.resolve(Long.toString(pid)).resolve("cmdline"));
    if (cmdline.isEmpty() || !runs(cmdline.get(), argv)) {
      return Optional.empty();
    }
    return identify(pid);
  }

  /**
   * Whether {@code cmdline} ends with the exporter started as {@code argv}: from the first element
   * equal to {@code argv[0]} on, both parse ({@link Vblade#parse}) to the same target and options.
   * Parsed, not compared element by element: vblade 25 writes NUL over the commas of its own
   * {@code -m} list, so a bound exporter's cmdline shows {@code -m a b} where it was started with
   * {@code -m a,b}. The launcher's own cmdline ({@code setsid --fork -- vblade ...}) before its exec
   * matches too; it is the same pid.
   */
  static boolean runs(List<String> cmdline, List<String> argv) {
    int start = cmdline.indexOf(argv.getFirst());
    if (start < 0) {
      return false;
    }
    Optional<Vblade.ParsedArgs> started = Vblade.parse(argv);
    return started.isPresent() && started.equals(Vblade.parse(cmdline.subList(start, cmdline.size())));
  }

  /** The process with {@code pid} as it is now, if it runs (a zombie does not). */
  public Optional<LivePid> identify(long pid) {
    return stat(pid).filter(s -> s.running()).map(s -> new LivePid(pid, s.startTicks()));
  }

  /**
   * Whether {@code process} still runs: its {@code /proc/<pid>/stat} exists, shows the same start
   * time (not a later process with a reused pid) and a state other than zombie or dead. One small
   * read; what the single exporter watcher asks of every exporter each period.
   */
  public boolean alive(LivePid process) {
    return stat(process.pid()).filter(s -> s.running() && s.startTicks() == process.startTicks()).isPresent();
  }

  /** The state letter and start time of {@code /proc/<pid>/stat} (proc(5): fields 3 and 22). */
  private record Stat(char state, long startTicks) {
    boolean running() {
      return state != 'Z' && state != 'X' && state != 'x';
    }
  }

  private Optional<Stat> stat(long pid) {
    String line;
    try {
      line = Files.readString(procRoot.resolve(Long.toString(pid)).resolve("stat"), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      return Optional.empty(); // gone
    }
    int close = line.lastIndexOf(')'); // the command name (field 2) may hold spaces and parentheses
    if (close < 0) {
      return Optional.empty();
    }
    String[] fields = line.substring(close + 1).strip().split(" ");
    if (fields.length < 20 || fields[0].isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(new Stat(fields[0].charAt(0), Long.parseLong(fields[19])));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /**
   * The vblade arguments in {@code argv}, or empty if it is not one of our program's. Total: any
   * argv a process can show (empty, {@code /}, empty strings, options only, numbers out of range,
   * paths the JDK refuses) yields a value or empty, never an exception.
   */
  Optional<Vblade.ParsedArgs> asVblade(List<String> argv) {
    if (argv.isEmpty() || !programName.equals(baseName(argv.getFirst()))) {
      return Optional.empty();
    }
    return Vblade.parse(argv).map(a -> {
      String netif = a.target().iface();
      if (!ExporterLinks.isLinkName(netif)) {
        return a;
      }
      return nicOfLink.apply(netif).map(nic -> new Vblade.ParsedArgs(a.target().onNic(nic), a.options())).orElse(a);
    });
  }

  /** The last {@code /}-separated element of {@code arg0} ({@code ""} for {@code /}); no {@link Path} parsing. */
  static String baseName(String arg0) {
    String s = arg0;
    while (s.endsWith("/")) {
      s = s.substring(0, s.length() - 1);
    }
    return s.substring(s.lastIndexOf('/') + 1);
  }

  /**
   * Splits a {@code /proc/<pid>/cmdline} image into argv: NUL-separated, the last NUL optional;
   * bytes that are not UTF-8 become U+FFFD (they then match no program or path of ours). Empty
   * content (kernel thread, zombie) is no argv.
   */
  static Optional<List<String>> splitArgv(byte[] bytes) {
    if (bytes.length == 0) {
      return Optional.empty();
    }
    String s = new String(bytes, StandardCharsets.UTF_8);
    if (s.endsWith("\0")) {
      s = s.substring(0, s.length() - 1);
    }
    return Optional.of(Arrays.asList(s.split("\0", -1)));
  }

  private static Optional<List<String>> readArgv(Path cmdline) {
    try {
      return splitArgv(Files.readAllBytes(cmdline));
    } catch (NoSuchFileException e) {
      return Optional.empty(); // exited during the scan
    } catch (IOException e) {
      LOG.debug("cannot read {}: {}", cmdline, e.getMessage());
      return Optional.empty();
    }
  }

  private static Optional<Long> pid(Path dir) {
    return pid(dir.getFileName().toString());
  }

  private static Optional<Long> pid(String name) {
    try {
      return Optional.of(Long.parseLong(name));
    } catch (NumberFormatException e) {
      return Optional.empty(); // digits only, but too many for a pid
    }
  }

  private static boolean isPid(String name) {
    return !name.isEmpty() && name.chars().allMatch(Character::isDigit);
  }
}
