package io.cowherd.agent.export;

import io.cowherd.agent.host.ExporterCgroup;
import io.cowherd.agent.host.ExporterLinks;
import io.cowherd.agent.host.ExporterCgroupException;
import io.cowherd.agent.host.ExitWatcher;
import io.cowherd.agent.host.LivePid;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.host.VbladeTarget;
import java.io.File;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one vblade(8) exporter per slot and keeps it running: restarts it with {@link Backoff}
 * when it exits, records its last stderr line, and tells an {@link ExporterListener} about every
 * change (the reconciler turns that into a reconcile). *
 * <p>Never two exporters of one target. Before starting, the shared indexed {@code /proc} scan
 * ({@link VbladeProcesses#snapshot}, at most {@link #SNAPSHOT_AGE} old, kept true about this
 * supervisor's own starts and stops) is judged by {@link TargetClaims}: a vblade with exactly our
 * argv is <em>adopted</em>, every further one with that argv is ours too and is stopped (two
 * agents, or a race, started it twice); one claiming the same shelf, slot and interface with
 * another path is a <em>conflict</em> (nothing is started, ours with that argv are stopped, {@link
 * ExporterState#conflict()} names it); a vblade serving our export path under an old address or
 * with other options is ours and is stopped, then ours is started. Then the
 * segment is asked ({@link SegmentScanner}, one broadcast Query Config per interface, at most
 * {@link SegmentScanner#BEFORE_START} old): if another MAC answers for the target, nothing is
 * started and ours are stopped ({@link ExporterState#duplicate()} names it). Restarts after an exit
 * go through the same checks.
 *
 * <p>The judgement and the decision to start are made under the supervisor's monitor; the launch
 * itself (fork, exec, finding the forked exporter in {@code /proc}) runs outside it, so starts of
 * different slots overlap (a bring-up of 64 slots spent most of its time queued on this monitor,
 * issue 11). While a launch is in flight its exporter is marked {@code starting}: a start of
 * another slot with the same address or path waits for it and then sees its process (so two
 * slots claiming one target still never both run), and stop, release and restore of that slot
 * wait for it or leave it alone.
 *
 * <p>Exporters outlive the agent and its container. Each is started through {@link
 * Vblade#spawnArgv} ({@code setsid --fork}): it is never the agent's child and leads its own
 * session; right after the start (and on adoption) it is moved into the exporter cgroup ({@link
 * ExporterCgroup#enter}), outside the agent container's cgroups, so no container runtime's kill of
 * that cgroup reaches it. Stdin is {@code /dev/null}, stdout is discarded, stderr goes to a
 * per-slot log file (not a pipe), so an exporter never dies of SIGPIPE when the agent exits.
 * Since no exporter is a child, its exit code is unknown ({@link ExporterState#lastExitCode()} is
 * null); its last stderr line is kept.
 *
 * <p>One watcher for all exporters, not a thread per process: an {@link ExitWatcher} (one thread,
 * one pidfd per exporter in one {@code poll(2)}) reports each exit as it happens and costs nothing
 * while none exits. A sweep on the scheduler every {@link #SWEEP_PERIOD} reads each exporter's
 * {@code /proc/<pid>/stat} ({@link VbladeProcesses#alive}, pid reuse and zombies detected by start
 * time and state) as a safety net, forgets SIGKILLed pids once gone, retries the cgroup move of
 * any exporter not yet inside, and re-checks every exporter's claims in one batch (one {@code
 * /proc} snapshot through {@link TargetClaims}, one segment scan per interface every {@link
 * SegmentScanner#WHILE_RUNNING}), handing a slot with another exporter of its target to the
 * listener; where pidfds are unavailable (Linux before 5.3, or a {@code /proc}
 * other than the host's, as in unit tests) it runs every {@link #WATCH_PERIOD} instead and is the
 * only watcher. Thread count does not grow with exporters.
 *
 * <p>On agent shutdown ({@link #close()}) exporters are LEFT RUNNING, so clients keep their disks
 * across agent restarts; the next agent adopts them. Only {@link #stop} ends an exporter.
 */
public final class VbladeSupervisor implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(VbladeSupervisor.class);
  /** How long {@link #stop} waits after SIGTERM, and again after SIGKILL. */
  static final Duration STOP_WAIT = Duration.ofSeconds(5);
  /**
   * An exporter that ran this long had started serving: if it then dies of a signal (vblade 25
   * aborts on a crafted mask-list frame), the cause came from outside and it is restarted at once.
   */
  public static final Duration SERVING_AFTER = Duration.ofSeconds(1);
  /** A signal death this soon after {@link #restore} or {@link #wireAttempt} was caused from the wire. */
  static final Duration WIRE_CAUSE_WINDOW = Duration.ofSeconds(2);
  /** How often the {@code /proc} sweep checks every exporter when no pidfd watcher runs (exits are seen at most this late). */
  public static final Duration WATCH_PERIOD = Duration.ofMillis(500);
  /** How often the {@code /proc} sweep runs beside the pidfd watcher (safety net, cgroup retries). */
  public static final Duration SWEEP_PERIOD = Duration.ofSeconds(10);
  /** Most unused exporter links one sweep deletes ({@link #sweepLinks}). */
  static final int SWEEP_DELETES = 16;
  /**
   * How old the full {@code /proc} scan behind the sweep's claims re-check may be ({@link
   * VbladeProcesses#snapshot}: in between only new pids are read; a process seen before it exec'd
   * vblade is found at the next full scan or slot reconcile).
   */
  static final Duration SWEEP_FULL_SCAN = Duration.ofSeconds(60);
  /**
   * How old the full {@code /proc} scan behind a shared snapshot may be ({@link
   * VbladeProcesses#snapshot}): one full scan serves a whole batch of observations and starts; within
   * it each caller still sees every process of now (new pids are read, vanished ones dropped).
   */
  public static final Duration SNAPSHOT_AGE = Duration.ofSeconds(1);
  /** How long the {@code setsid} launcher may take to fork and exit. */
  static final Duration LAUNCH_WAIT = Duration.ofSeconds(5);

  private final Vblade vblade;
  private final VbladeProcesses processes;
  private final ScheduledExecutorService scheduler;
  private final Clock clock;
  private final Backoff backoff;
  private final ExporterListener listener;
  private final SegmentScanner segment;
  private final ExporterCgroup cgroup;
  private final ExporterLinks links;
  /** Interfaces named like exporter links that {@link ExporterLinks#delete} refused as not ours; monitor held. */
  private final Set<String> notOurLinks = new HashSet<>();
  private final Map<SlotId, Exporter> exporters = new HashMap<>();
  /** Pids SIGKILLed by {@link #restore} that may not have exited yet: never adopted. */
  private final Map<Long, LivePid> dying = new HashMap<>();
  private final ScheduledFuture<?> watcher;
  /** Reports exits as they happen; empty where pidfds cannot be used (the sweep then runs every {@link #WATCH_PERIOD}). */
  private final Optional<ExitWatcher> exits;
  private boolean closed;
  /** When {@link #checkClaims} last started a segment re-check; only its thread reads it. */
  private Instant lastSegmentCheck;

  /** One supervised exporter; guarded by the supervisor's monitor. */
  private static final class Exporter {
    final SlotId id;
    final VbladeTarget target;
    final Path logFile;
    LivePid handle;
    boolean adopted;
    /** Whether {@link #handle} is known to be in the exporter cgroup. */
    boolean contained;
    String cgroupError;
    Instant startedAt;
    int restarts;
    Integer lastExitCode;
    String lastError;
    int consecutiveFailures;
    ScheduledFuture<?> pendingRestart;
    Instant nextRestartAt;
    VbladeProcess conflict;
    DuplicateExporter duplicate;
    boolean stopped;
    Instant wireAttemptAt;
    /**
     * A start decided under the monitor is being carried out outside it ({@link Launch}): nothing
     * else starts, stops, restores or releases this exporter, and no other slot starts one of the
     * same address or path, until it is finished.
     */
    boolean starting;

    Exporter(SlotId id, VbladeTarget target, Path logFile) {
      this.id = id;
      this.target = target;
      this.logFile = logFile;
    }

    /** Whether a process runs or a restart is scheduled: otherwise nothing would ever start one. */
    boolean live(VbladeProcesses processes) {
      return (handle != null && processes.alive(handle)) || (pendingRestart != null && !pendingRestart.isDone());
    }

    ExporterState state(VbladeProcesses processes) {
      Long pid = handle != null && processes.alive(handle) ? handle.pid() : null;
      return new ExporterState(target, pid, pid != null && adopted, restarts, lastExitCode, lastError,
          consecutiveFailures, nextRestartAt, conflict, duplicate);
    }
  }

  /**
   * @param scheduler runs delayed restarts (no sleeping threads)
   * @param listener told about every state change
   * @param segment the wire check for other exporters of a target on the segment
   */
  public VbladeSupervisor(Vblade vblade, VbladeProcesses processes, ScheduledExecutorService scheduler, Clock clock,
      Backoff backoff, ExporterListener listener, SegmentScanner segment) {
    this(vblade, processes, scheduler, clock, backoff, listener, segment, ExporterCgroup.none());
  }

  /**
   * @param scheduler runs delayed restarts and the one exporter watcher (no sleeping threads)
   * @param listener told about every state change
   * @param segment the wire check for other exporters of a target on the segment
   * @param cgroup where exporters are moved after their start or adoption ({@link ExporterCgroup#none()}: nowhere)
   */
  public VbladeSupervisor(Vblade vblade, VbladeProcesses processes, ScheduledExecutorService scheduler, Clock clock,
      Backoff backoff, ExporterListener listener, SegmentScanner segment, ExporterCgroup cgroup) {
    this(vblade, processes, scheduler, clock, backoff, listener, segment, cgroup, ExporterLinks.shared(Path.of("/sys")));
  }

  /**
   * @param scheduler runs delayed restarts and the one exporter watcher (no sleeping threads)
   * @param listener told about every state change
   * @param segment the wire check for other exporters of a target on the segment
   * @param cgroup where exporters are moved after their start or adoption ({@link ExporterCgroup#none()}: nowhere)
   * @param links makes the link a target binds before its exporter starts ({@link VbladeTarget#ownLink()}) and
   *     deletes it when the exporter is stopped for good; the sweep deletes exporter links nothing uses
   */
  public VbladeSupervisor(Vblade vblade, VbladeProcesses processes, ScheduledExecutorService scheduler, Clock clock,
      Backoff backoff, ExporterListener listener, SegmentScanner segment, ExporterCgroup cgroup, ExporterLinks links) {
    this.cgroup = cgroup;
    this.links = links;
    this.vblade = vblade;
    this.processes = processes;
    this.scheduler = scheduler;
    this.clock = clock;
    this.backoff = backoff;
    this.listener = listener;
    this.segment = segment;
    this.exits = processes.isHostProc() ? ExitWatcher.open(processes, this::processExited) : Optional.empty();
    long period = (exits.isPresent() ? SWEEP_PERIOD : WATCH_PERIOD).toMillis();
    this.watcher = scheduler.scheduleWithFixedDelay(this::watch, period, period, TimeUnit.MILLISECONDS);
  }

  /** Whether exits are reported by pidfd as they happen ({@link ExitWatcher}), not only by the periodic sweep. */
  public boolean watchesByPidfd() {
    return exits.isPresent();
  }

  /** From the {@link ExitWatcher} thread: {@code pid} ended; handled as the sweep would. */
  private void processExited(LivePid pid) {
    Exporter ex;
    synchronized (this) {
      if (closed) {
        return;
      }
      dying.remove(pid.pid(), pid);
      ex = exporters.values().stream().filter(e -> pid.equals(e.handle)).findFirst().orElse(null);
    }
    if (ex != null) {
      exited(ex, pid);
    }
  }

  /**
   * Makes an exporter of {@code target} run for slot {@code id}: keeps a running or backing-off one
   * with the same target, replaces one with another target, adopts a matching process, refuses to
   * start next to a conflicting one on this host or a duplicate on the segment.
   *
   * @param logFile where the exporter's stderr goes
   * @return the state after acting; {@link ExporterState#conflict()} or {@link
   *     ExporterState#duplicate()} set if nothing could start
   * @throws SegmentScanException if the segment cannot be checked (nothing was started)
   */
  public ExporterState ensure(SlotId id, VbladeTarget target, Path logFile) {
    Exporter old;
    LivePid exitNotSeen = null;
    synchronized (this) {
      old = exporters.get(id);
      if (old != null && old.handle != null && !processes.alive(old.handle)) {
        exitNotSeen = old.handle; // exited since the watcher's last look
      }
    }
    if (exitNotSeen != null) {
      exited(old, exitNotSeen); // as the watcher would: counted, restarted at once or after the backoff
    }
    synchronized (this) {
      old = exporters.get(id);
      if (old != null && old.target.equals(target) && old.conflict == null && old.duplicate == null
          && old.live(processes)) {
        return old.state(processes); // running, or a restart is scheduled
      }
    }
    Optional<DuplicateExporter> duplicate;
    if (old != null && !old.target.equals(target)) {
      LOG.info("slot {}: exporter target changed from {} to {}", id, old.target, target);
      stop(id, List.of(old.target.path()));
      // A scan from before the stop may show our own old exporter (e.g. the former NIC, bridged to
      // the new one) answering for the target: only one sent after the stop counts.
      duplicate = segment.duplicateOf(target, segment.now());
    } else {
      // Adopting starts nothing new: the process has been answering on the wire all along, so a scan
      // as old as for any running exporter (the observer's rule) will do; a start needs a fresh one.
      duplicate = segment.duplicateOf(target, adoptable(target) ? SegmentScanner.WHILE_RUNNING
          : SegmentScanner.BEFORE_START);
    }
    Exporter ex;
    Launch launch;
    synchronized (this) {
      ex = exporters.get(id);
      if (ex == null) {
        ex = new Exporter(id, target, logFile);
        exporters.put(id, ex);
      }
      try {
        launch = prepare(ex, duplicate).orElse(null);
      } catch (RuntimeException e) {
        if (!ex.live(processes)) {
          exporters.remove(id, ex); // nothing runs or is scheduled: the next ensure starts over
        }
        throw e;
      }
      if (launch == null) {
        return ex.state(processes);
      }
    }
    // Fork, exec and finding the child outside the monitor: starts of different slots overlap, and
    // observations, exit events and stops of other slots do not wait for them.
    Launched launched = null;
    try {
      launched = launch(launch);
    } finally {
      synchronized (this) {
        if (launched != null) {
          finish(launch, launched);
        } else { // launch threw: nothing was started that we know of
          endLaunch(ex);
          if (!ex.live(processes)) {
            exporters.remove(id, ex);
          }
        }
      }
    }
    synchronized (this) {
      return ex.state(processes);
    }
  }

  /** Whether a process with exactly {@code target}'s argv runs (the next start would adopt it; {@link TargetClaims}). */
  private boolean adoptable(VbladeTarget target) {
    List<Long> ignore;
    synchronized (this) {
      ignore = List.copyOf(dying.keySet());
    }
    return !TargetClaims.judgeLive(processes, SNAPSHOT_AGE, target, List.of(target.path()), ignore)
        .exact().isEmpty();
  }

  /**
   * Slots whose exporter answers frames addressed to {@code shelf}/{@code slot} on {@code iface}
   * (65535 and 255 are broadcasts, AoEr11 §2.5).
   */
  public synchronized List<SlotId> slotsAnswering(String iface, int shelf, int slot) {
    return exporters.values().stream()
        .filter(ex -> ex.target.iface().equals(iface) && (shelf == 0xFFFF || shelf == ex.target.shelf())
            && (slot == 0xFF || slot == ex.target.slot()))
        .map(ex -> ex.id)
        .toList();
  }

  /**
   * Notes that a state-changing control frame (mask list edit, reservation, config set) for slot
   * {@code id}'s target came from the wire: an exit by signal within {@link #WIRE_CAUSE_WINDOW}
   * is then restarted at once, however briefly the exporter ran.
   */
  public synchronized void wireAttempt(SlotId id) {
    Exporter ex = exporters.get(id);
    if (ex != null) {
      ex.wireAttemptAt = clock.instant();
    }
  }

  /**
   * Restarts slot {@code id}'s exporter now, to drop state a rogue frame put into it (vblade keeps
   * mask list, reservations and config string in memory only): ends the running process (SIGKILL)
   * and starts it again without waiting for a backoff or a new segment scan (it was
   * serving this target a moment ago; the periodic scan still runs). A pending backoff restart is
   * replaced. Counts as a restart.
   *
   * @param why for the log
   */
  public void restore(SlotId id, String why) {
    synchronized (this) {
      Exporter ex = exporters.get(id);
      if (ex == null || !current(ex) || ex.conflict != null || ex.duplicate != null || ex.starting) {
        return; // a start in flight: the new process has seen no frame yet
      }
      ex.wireAttemptAt = clock.instant();
      if (ex.pendingRestart != null) {
        ex.pendingRestart.cancel(false);
      }
      LivePid old = ex.handle;
      ex.handle = null; // its exit is on purpose: the watcher ignores it
      if (old != null && processes.alive(old)) {
        // SIGKILL, and do not wait for the exit: a killed process never runs user code again, so it cannot
        // answer a frame, but releasing its packet socket took 0.02-5 s on a loaded host. vblade has no SIGTERM
        // handler (SIGTERM ends it just as abruptly) and no data of its own (every write is a pwrite). The
        // watcher forgets it once it is gone; until then it is never adopted.
        dying.put(old.pid(), old);
        ProcessHandle.of(old.pid()).ifPresent(ProcessHandle::destroyForcibly);
        processes.ended(old.pid());
      }
      LOG.warn("slot {}: restoring exporter ({}): {}", id, ex.target.aoeName(), why);
      ex.restarts++;
      startOrAdopt(ex, Optional.empty());
    }
    listener.exporterChanged(id);
  }

  /**
   * Stops every other vblade that serves slot {@code id}'s export path or claims its target with
   * exactly its argv while its supervised exporter runs ({@link TargetClaims}: exact beyond ours,
   * stale), e.g. one started by hand or by a second agent. Such a process cannot be seen on the
   * wire (same NIC, same MAC as ours) and vblade takes no lock on the file, so without this both
   * would answer every request and write the store until the next start or agent restart. Reads the
   * shared {@code /proc} snapshot (at most {@link #SNAPSHOT_AGE} old); nothing is done while the
   * exporter is not running (its next start judges the same processes). Blocks up to {@link
   * #STOP_WAIT} twice per process stopped.
   *
   * @return the pids stopped
   */
  public List<Long> stopOthers(SlotId id) {
    Exporter ex;
    List<LivePid> others;
    synchronized (this) {
      ex = exporters.get(id);
      if (ex == null || ex.handle == null || !processes.alive(ex.handle) || ex.conflict != null
          || ex.duplicate != null) {
        return List.of();
      }
      List<Long> ignore = new ArrayList<>(dying.keySet());
      ignore.add(ex.handle.pid());
      TargetClaims.Verdict claims = TargetClaims.judgeLive(processes, SNAPSHOT_AGE, ex.target,
          List.of(ex.target.path()), ignore);
      others = java.util.stream.Stream.concat(claims.exact().stream(), claims.stale().stream())
          .map(VbladeProcess::pid).distinct().flatMap(pid -> processes.identify(pid).stream()).toList();
    }
    for (LivePid other : others) {
      LOG.warn("slot {}: stopping vblade pid {} serving this slot's export path or target beside exporter pid {}",
          id, other.pid(), ex.handle == null ? "(none)" : ex.handle.pid());
      terminate(other);
    }
    return others.stream().map(LivePid::pid).toList();
  }

  /** The state of slot {@code id}'s exporter, if this supervisor manages one. */
  public synchronized Optional<ExporterState> state(SlotId id) {
    return Optional.ofNullable(exporters.get(id)).map(ex -> ex.state(processes));
  }

  /**
   * Stops slot {@code id}'s exporter for good: SIGTERM, wait up to {@link #STOP_WAIT}, SIGKILL,
   * wait again; also ends any vblade serving one of {@code exportPaths} (ours by path, e.g. from a
   * previous agent), then verifies that none remains.
   *
   * @throws ExporterStopException if a vblade serving one of those paths is still running
   */
  public void stop(SlotId id, Collection<Path> exportPaths) {
    Set<Path> paths = new HashSet<>(exportPaths);
    Set<String> ownLinks = new HashSet<>();
    LivePid managed = null;
    synchronized (this) {
      awaitLaunch(exporters.get(id));
      Exporter ex = exporters.remove(id);
      if (ex != null) {
        ex.stopped = true;
        if (ex.pendingRestart != null) {
          ex.pendingRestart.cancel(false);
        }
        managed = ex.handle;
        paths.add(ex.target.path());
        if (ex.target.ownLink()) {
          ownLinks.add(ex.target.link());
        }
      }
    }
    boolean any = managed != null && processes.alive(managed);
    if (managed != null) {
      terminate(managed);
    }
    // The shared snapshot (at most SNAPSHOT_AGE old, new pids read, vanished ones dropped): two full
    // scans of /proc per stop made a teardown of N slots cost N times the host's process count.
    // A zombie (ended, not yet reaped by its parent) keeps its /proc entry and so its place in an
    // incremental snapshot: dropEnded takes such processes out before they count as running.
    List<VbladeProcess> serving = processes.snapshot(SNAPSHOT_AGE).all().stream()
        .filter(p -> paths.contains(p.target().path())).toList();
    for (VbladeProcess p : serving) {
      if (p.target().ownLink()) {
        ownLinks.add(p.target().link());
      }
      Optional<LivePid> live = processes.identify(p.pid());
      if (live.isPresent()) {
        any = true;
        terminate(live.get());
      }
    }
    List<VbladeProcess> left;
    int rounds = 0;
    do {
      left = processes.snapshot(SNAPSHOT_AGE).all().stream().filter(p -> paths.contains(p.target().path())).toList();
    } while (processes.dropEnded(left) && ++rounds < TargetClaims.MAX_ROUNDS);
    if (!left.isEmpty()) {
      throw new ExporterStopException("slot " + id + ": vblade still running after SIGKILL: pid "
          + left.getFirst().pid() + " (" + left.getFirst().target() + ")");
    }
    if (any) {
      LOG.info("slot {}: exporter stopped", id);
    }
    deleteLinks(id, ownLinks);
  }

  /**
   * Deletes the exporter links in {@code names} that no supervised exporter binds (a slot may be
   * stopped while another claims its address: that one keeps the link).
   *
   * @throws ExporterStopException if a link cannot be deleted (its MAC would stay on this port)
   */
  private void deleteLinks(SlotId id, Set<String> names) {
    if (names.isEmpty()) {
      return;
    }
    Set<String> bound = new HashSet<>();
    synchronized (this) {
      exporters.values().forEach(o -> bound.add(o.target.link()));
    }
    // A vblade not ours may bind the name too (a conflict this slot was refused for): its link stays.
    processes.snapshot(SNAPSHOT_AGE).all().forEach(p -> bound.add(p.target().link()));
    for (String name : names) {
      if (bound.contains(name)) {
        continue;
      }
      try {
        links.delete(name); // outside the monitor: ip takes milliseconds, other slots' work goes on
      } catch (RuntimeException e) {
        throw new ExporterStopException("slot " + id + ": exporter stopped, but its link " + name
            + " could not be deleted: " + e.getMessage());
      }
    }
  }

  /**
   * Stops supervising slot {@code id}'s exporter and LEAVES IT RUNNING (its client keeps its disk),
   * as {@link #close()} does for all: for a slot object deleted without a reclaim mark, whose next
   * object adopts the process by its exact argv.
   *
   * @return whether an exporter was supervised for {@code id}
   */
  public synchronized boolean release(SlotId id) {
    awaitLaunch(exporters.get(id));
    Exporter ex = exporters.remove(id);
    if (ex == null) {
      return false;
    }
    ex.stopped = true;
    if (ex.pendingRestart != null) {
      ex.pendingRestart.cancel(false);
    }
    if (ex.handle != null) {
      LivePid left = ex.handle;
      exits.ifPresent(w -> w.forget(left));
    }
    LOG.info("slot {}: exporter {} left running, no longer supervised", id,
        ex.handle != null && processes.alive(ex.handle) ? "pid " + ex.handle.pid() : "(not running)");
    return true;
  }

  /** Stops supervising; exporters keep running (clients keep their disks) and are adopted later. */
  @Override
  public void close() {
    synchronized (this) {
      closed = true;
      watcher.cancel(false);
      for (Exporter ex : exporters.values()) {
        ex.stopped = true;
        if (ex.pendingRestart != null) {
          ex.pendingRestart.cancel(false);
        }
      }
      LOG.info("supervisor closed; {} exporter(s) left running for the next agent to adopt", exporters.size());
    }
    exits.ifPresent(ExitWatcher::close); // outside the monitor: its thread may be waiting for it
  }

  /**
   * Starts or adopts {@code ex}'s exporter entirely under the monitor (restarts and restores; {@link
   * #ensure} carries the launch out outside it). Called with the monitor held.
   *
   * @param duplicate what the segment scan found answering for the target from another MAC
   */
  private void startOrAdopt(Exporter ex, Optional<DuplicateExporter> duplicate) {
    Optional<Launch> launch = prepare(ex, duplicate);
    if (launch.isPresent()) {
      Launched launched = null;
      try {
        launched = launch(launch.get());
      } finally {
        if (launched != null) {
          finish(launch.get(), launched);
        } else {
          endLaunch(ex);
        }
      }
    }
  }

  /** A start decided under the monitor ({@link #prepare}), carried out by {@link #launch}. */
  private record Launch(Exporter ex, List<String> argv, List<String> spawnArgv, List<Long> exclude) {}

  /**
   * What {@link #launch} found: the exporter's process, or none (then {@code error} says why, or is
   * null when it exited right after its start).
   */
  private record Launched(Optional<LivePid> process, String error) {}

  /** Ends {@code ex}'s launch in flight and wakes those waiting for it ({@link #awaitLaunch}); monitor held. */
  private void endLaunch(Exporter ex) {
    ex.starting = false;
    notifyAll();
  }

  /**
   * Waits (monitor held, released while waiting) until {@code ex}'s launch in flight, if any, is
   * finished.
   *
   * @throws IllegalStateException if interrupted while waiting (nothing was changed)
   */
  private void awaitLaunch(Exporter ex) {
    while (ex != null && ex.starting) {
      try {
        wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while slot " + ex.id + "'s exporter was being started", e);
      }
    }
  }

  /**
   * Judges the host's processes for {@code ex} and acts on them: stops stale exporters of its path,
   * refuses a conflict or a duplicate on the segment, adopts a process with exactly its argv, or
   * decides a start, marking {@code ex} {@link Exporter#starting}. Before judging it waits for
   * launches in flight of the same exporter and of any other with the same address (shelf, slot,
   * interface) or path: their processes are in the shared snapshot once they are finished ({@link
   * VbladeProcesses#started}), so two slots claiming one target never both start. Called with the
   * monitor held.
   *
   * @param duplicate what the segment scan found answering for the target from another MAC
   * @return the start to carry out ({@link #launch}, then {@link #finish}); empty when nothing is to start
   */
  private Optional<Launch> prepare(Exporter ex, Optional<DuplicateExporter> duplicate) {
    boolean waited = false;
    for (Exporter other = inFlightLike(ex); other != null; other = inFlightLike(ex)) {
      awaitLaunch(other); // releases the monitor while waiting
      waited = true;
    }
    if (waited && !current(ex)) {
      // Stopped, released or closed while this start waited (a restart or restore waiting for another
      // slot's launch of the same address): stop() has already said that nothing serves its path.
      LOG.info("slot {}: not starting: the slot was stopped or released while its start waited", ex.id);
      return Optional.empty();
    }
    ex.pendingRestart = null;
    ex.nextRestartAt = null;
    ex.conflict = null;
    ex.duplicate = null;
    TargetClaims.Verdict claims = TargetClaims.judgeLive(processes, SNAPSHOT_AGE, ex.target,
        List.of(ex.target.path()), dying.keySet());
    for (VbladeProcess p : claims.stale()) {
      // Ours by path, with an old address or other options: e.g. started without -s by an older
      // agent, or before spec.export.writeCache changed. Replaced, never adopted (TargetClaims).
      LOG.warn("slot {}: stopping stale exporter pid {} ({}, options {}) of our export path; wanted {} {}", ex.id,
          p.pid(), p.target(), p.options(), ex.target, Vblade.options(ex.target));
      processes.identify(p.pid()).ifPresent(this::terminate);
      processes.ended(p.pid());
    }
    List<LivePid> exact = claims.exact().stream().flatMap(p -> processes.identify(p.pid()).stream()).toList();
    Optional<VbladeProcess> foreign = claims.conflict();
    if (foreign.isPresent()) {
      ex.conflict = foreign.get();
      LOG.warn("slot {}: {} is already claimed by vblade pid {} ({}, options {}); not running a second exporter",
          ex.id, ex.target.aoeName(), foreign.get().pid(), foreign.get().target(), foreign.get().options());
      stopOurs(ex, exact, "another exporter of the target runs on this host");
      return Optional.empty();
    }
    if (duplicate.isPresent()) {
      ex.duplicate = duplicate.get();
      LOG.warn("slot {}: {}", ex.id, ex.duplicate.message());
      stopOurs(ex, exact, "another exporter of the target answers on the segment");
      return Optional.empty();
    }
    if (!exact.isEmpty()) {
      watch(ex, exact.getFirst(), true);
      LOG.info("slot {}: adopted running exporter pid {} ({})", ex.id, ex.handle.pid(), ex.target);
      stopOurs(ex, exact.subList(1, exact.size()), "duplicate of adopted pid " + ex.handle.pid());
      return Optional.empty();
    }
    List<Long> exclude = new ArrayList<>(dying.keySet());
    exporters.values().stream().filter(o -> o != ex && o.handle != null).forEach(o -> exclude.add(o.handle.pid()));
    ex.starting = true;
    return Optional.of(new Launch(ex, vblade.argv(ex.target), vblade.spawnArgv(ex.target), List.copyOf(exclude)));
  }

  /** Another exporter whose launch is in flight with {@code ex}'s address or path, or {@code ex} itself; monitor held. */
  private Exporter inFlightLike(Exporter ex) {
    if (ex.starting) {
      return ex;
    }
    for (Exporter o : exporters.values()) {
      if (o != ex && o.starting && (o.target.sameAddress(ex.target) || o.target.path().equals(ex.target.path()))) {
        return o;
      }
    }
    return null;
  }

  /**
   * Carries out {@code launch}: runs the launcher ({@link Vblade#spawnArgv}: {@code setsid --fork},
   * stdin {@code /dev/null}, stderr to the slot's log) and finds the exporter it forked ({@link
   * VbladeProcesses#findStarted}). Needs no monitor; touches no supervisor state.
   *
   * @throws IllegalStateException if {@code /proc} cannot be listed
   */
  private Launched launch(Launch launch) {
    Exporter ex = launch.ex();
    if (ex.target.ownLink()) {
      try {
        links.ensure(ex.target.iface(), ex.target.shelf(), ex.target.slot(), ex.target.link());
      } catch (RuntimeException e) {
        return new Launched(Optional.empty(), "cannot make exporter link " + ex.target.link() + " on "
            + ex.target.iface() + ": " + e.getMessage());
      }
    }
    try {
      Files.createDirectories(ex.logFile.getParent());
      ProcessBuilder pb = new ProcessBuilder(launch.spawnArgv())
          .redirectInput(Redirect.from(new File("/dev/null")))
          .redirectOutput(Redirect.DISCARD)
          .redirectError(Redirect.to(ex.logFile.toFile()));
      pb.environment().put("LC_ALL", "C");
      Process launcher = pb.start();
      if (!launcher.waitFor(LAUNCH_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        launcher.destroyForcibly();
        throw new IOException("setsid did not fork within " + LAUNCH_WAIT.toSeconds() + " s");
      }
      if (launcher.exitValue() != 0) {
        throw new IOException("setsid exited with code " + launcher.exitValue());
      }
      return new Launched(processes.findStarted(launch.argv(), launch.spawnArgv(), launcher.pid(), launch.exclude(),
          LAUNCH_WAIT), null);
    } catch (IOException e) {
      return new Launched(Optional.empty(), "cannot start " + vblade.program() + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Launched(Optional.empty(), "interrupted while starting " + vblade.program());
    }
  }

  /**
   * Records what {@code launch} started (supervised, moved into the exporter cgroup, in the shared
   * snapshot) or why nothing runs (restart scheduled), and ends {@link Exporter#starting}. After
   * {@link #close} the process is left running unsupervised, as every exporter is. Monitor held.
   */
  private void finish(Launch launch, Launched launched) {
    Exporter ex = launch.ex();
    endLaunch(ex);
    if (closed) {
      return;
    }
    if (launched.process().isEmpty()) {
      ex.lastExitCode = null;
      if (launched.error() == null) {
        ex.lastError = lastLine(ex.logFile).orElse("exited at once");
        LOG.warn("slot {}: exporter exited right after its start: {}", ex.id, ex.lastError);
      } else {
        ex.lastError = launched.error();
        LOG.warn("slot {}: {}", ex.id, ex.lastError);
      }
      scheduleRestart(ex, Duration.ZERO);
      return;
    }
    LivePid started = launched.process().get();
    watch(ex, started, false);
    processes.started(new VbladeProcess(started.pid(), ex.target, Vblade.options(ex.target)));
    LOG.info("slot {}: started exporter pid {}: {}", ex.id, started.pid(), String.join(" ", launch.argv()));
  }

  /** Stops vblades with exactly our argv (ours by argv); called with the monitor held. */
  private void stopOurs(Exporter ex, List<LivePid> ours, String why) {
    for (LivePid h : ours) {
      LOG.warn("slot {}: stopping exporter pid {} with this slot's exact argv ({}): {}", ex.id, h.pid(), ex.target, why);
      if (h.equals(ex.handle)) {
        ex.handle = null; // its exit is on purpose: no restart
      }
      terminate(h);
    }
  }

  /** Supervises {@code handle} as {@code ex}'s exporter and moves it into the exporter cgroup; monitor held. */
  private void watch(Exporter ex, LivePid handle, boolean adopted) {
    ex.handle = handle;
    ex.adopted = adopted;
    ex.contained = false;
    ex.cgroupError = null;
    ex.startedAt = clock.instant();
    contain(ex);
    exits.ifPresent(w -> w.watch(handle));
  }

  /** Moves {@code ex}'s process into the exporter cgroup if it is not there; a failure is retried by the watcher. */
  private void contain(Exporter ex) {
    if (!cgroup.enabled()) {
      ex.contained = true;
      return;
    }
    try {
      cgroup.enter(ex.handle.pid());
      ex.contained = true;
    } catch (ExporterCgroupException e) {
      if (!processes.alive(ex.handle)) {
        return; // it exited: the watcher handles that
      }
      if (!e.getMessage().equals(ex.cgroupError)) {
        LOG.error("slot {}: exporter pid {} is still in the agent's cgroup and would die with the agent's container: {}",
            ex.id, ex.handle.pid(), e.getMessage());
      }
      ex.cgroupError = e.getMessage();
    }
  }

  /**
   * The one watcher: sees every supervised exporter that no longer runs (one {@code /proc/<pid>/stat}
   * read each), forgets SIGKILLed pids once gone, and retries cgroup moves that failed.
   */
  private void watch() {
    List<Exporter> gone = new ArrayList<>();
    synchronized (this) {
      if (closed) {
        return;
      }
      dying.values().removeIf(p -> !processes.alive(p));
      for (Exporter ex : exporters.values()) {
        if (ex.handle == null || ex.starting) {
          continue;
        }
        if (!processes.alive(ex.handle)) {
          gone.add(ex);
        } else if (!ex.contained) {
          contain(ex);
        }
      }
    }
    for (Exporter ex : gone) {
      LivePid handle;
      synchronized (this) {
        handle = ex.handle;
      }
      if (handle != null) {
        exited(ex, handle);
      }
    }
    if (exits.isPresent()) { // the slow sweep beside the pidfd watcher also re-checks claims
      checkClaims();
    }
    sweepLinks();
  }

  /**
   * Deletes exporter links ({@link ExporterLinks}) that no supervised exporter binds, no launch in
   * flight is about to bind and no running vblade binds: left by an agent killed between making a
   * link and starting its exporter, or by an exporter whose slot was removed while no agent ran.
   * A link kept on this port after its slot moved to another node would carry the slot's MAC on two
   * ports. Costs one sysfs listing when no link is left over. Decides and deletes under the monitor
   * (no start can pick a link in between), at most {@link #SWEEP_DELETES} links per sweep so that
   * exits, starts and stops wait at most that many {@code ip} calls (a switch back to {@code shared}
   * leaves one link per slot: 255 are gone within three minutes); before deleting it reads the whole
   * of {@code /proc} again, so a vblade whose pid an incremental snapshot saw before its exec (started
   * through a shell) keeps its link.
   */
  private void sweepLinks() {
    List<String> present = new ArrayList<>(links.list());
    synchronized (this) {
      notOurLinks.retainAll(present); // gone or renamed: judged again if it comes back
      present.removeAll(notOurLinks);
      if (closed || present.isEmpty()) {
        return;
      }
      Set<String> used = new HashSet<>();
      exporters.values().forEach(ex -> used.add(ex.target.link()));
      if (present.stream().allMatch(used::contains)) {
        return;
      }
      VbladeProcesses.Snapshot seen;
      try {
        seen = processes.snapshot(Duration.ZERO);
      } catch (IllegalStateException e) {
        return;
      }
      seen.all().forEach(p -> used.add(p.target().link()));
      int deleted = 0;
      for (String name : present) {
        if (used.contains(name) || deleted >= SWEEP_DELETES) {
          continue;
        }
        try {
          if (links.delete(name)) {
            deleted++;
            LOG.info("exporter link {} was bound by no exporter: deleted", name);
          } else {
            notOurLinks.add(name); // named like a link but someone else's (logged once by delete)
          }
        } catch (RuntimeException e) {
          LOG.warn("cannot delete unused exporter link {}: {}", name, e.getMessage());
        }
      }
    }
  }

  /**
   * The batched safety re-check between slot reconciles: one shared {@code /proc} snapshot judged by
   * {@link TargetClaims} for every running exporter, and (at most every {@link
   * SegmentScanner#WHILE_RUNNING}, on a virtual thread: network I/O) one segment scan per interface.
   * A slot with another vblade of its target or path on this host, or another MAC answering for it,
   * is handed to the listener (its reconcile then stops or reports it, as on any event); nothing is
   * decided or stopped here.
   */
  private void checkClaims() {
    List<SlotId> suspect = new ArrayList<>();
    List<Exporter> running = new ArrayList<>();
    synchronized (this) {
      if (closed || exporters.isEmpty()) {
        return;
      }
      VbladeProcesses.Snapshot seen;
      try {
        // Incremental between full scans (one readdir, only new pids read): a full read of every
        // cmdline each sweep was a large part of the idle cost at 255 slots.
        seen = processes.snapshot(SWEEP_FULL_SCAN);
      } catch (IllegalStateException e) {
        LOG.warn("claims re-check skipped: {}", e.getMessage());
        return;
      }
      for (Exporter ex : exporters.values()) {
        if (ex.handle == null || ex.starting || ex.conflict != null || ex.duplicate != null) {
          continue;
        }
        running.add(ex);
        List<Long> ignore = new ArrayList<>(dying.keySet());
        ignore.add(ex.handle.pid());
        TargetClaims.Verdict v = TargetClaims.judge(seen, ex.target, List.of(ex.target.path()), ignore);
        if (v.conflict().isPresent() || !v.exact().isEmpty() || !v.stale().isEmpty()) {
          suspect.add(ex.id);
        }
      }
    }
    suspect.forEach(listener::exporterChanged);
    Instant now = clock.instant();
    if (!running.isEmpty() && (lastSegmentCheck == null
        || !now.isBefore(lastSegmentCheck.plus(SegmentScanner.WHILE_RUNNING)))) {
      lastSegmentCheck = now;
      Thread.ofVirtual().name("segment-recheck").start(() -> {
        for (Exporter ex : running) {
          try {
            if (segment.duplicateOf(ex.target, SegmentScanner.WHILE_RUNNING).isPresent()) {
              listener.exporterChanged(ex.id);
            }
          } catch (SegmentScanException e) {
            LOG.debug("segment re-check of {}: {}", ex.target.iface(), e.getMessage());
          }
        }
      });
    }
  }

  private void exited(Exporter ex, LivePid handle) {
    synchronized (this) {
      if (!handle.equals(ex.handle) || ex.stopped || closed || ex.starting) {
        return; // replaced (or being replaced), stopped on purpose, or agent shutting down
      }
      ex.handle = null;
      processes.ended(handle.pid());
      Duration ran = Duration.between(ex.startedAt, clock.instant());
      ex.lastExitCode = null; // not our child: its exit status went to its reaper
      ex.lastError = lastLine(ex.logFile).orElse(null);
      LOG.warn("slot {}: exporter pid {} exited (code {}) after {} ms: {}", ex.id, handle.pid(),
          ex.lastExitCode == null ? "unknown" : ex.lastExitCode, ran.toMillis(),
          ex.lastError == null ? "(no stderr)" : ex.lastError);
      if (causedFromOutside(ex, ran)) {
        LOG.warn("slot {}: exporter died of a signal after serving (or right after a control frame from the wire);"
            + " restarting it at once", ex.id);
        ex.consecutiveFailures = 0;
        ex.nextRestartAt = clock.instant();
        ex.pendingRestart = scheduler.schedule(() -> restart(ex), 0, TimeUnit.MILLISECONDS);
      } else {
        scheduleRestart(ex, ran);
      }
    }
    listener.exporterChanged(ex.id);
  }

  /**
   * Whether an exit was caused from outside rather than by the exporter failing to start: it died
   * of a signal (exit code above 128, or unknown: every exporter is started outside the agent's
   * children, so its code is unknown) and had run for {@link #SERVING_AFTER}, or a state-changing
   * control frame for it was seen within {@link #WIRE_CAUSE_WINDOW}. A vblade that cannot open its
   * file or interface exits at once and keeps the backoff. Called with the monitor held.
   */
  private boolean causedFromOutside(Exporter ex, Duration ran) {
    boolean signal = ex.lastExitCode == null || ex.lastExitCode > 128;
    boolean wire = ex.wireAttemptAt != null
        && !ex.wireAttemptAt.isBefore(clock.instant().minus(WIRE_CAUSE_WINDOW));
    return signal && (ran.compareTo(SERVING_AFTER) >= 0 || wire);
  }

  /** Called with the monitor held. */
  private void scheduleRestart(Exporter ex, Duration ran) {
    if (backoff.wasStable(ran)) {
      ex.consecutiveFailures = 0;
    }
    ex.consecutiveFailures++;
    Duration delay = backoff.delay(ex.consecutiveFailures);
    ex.nextRestartAt = clock.instant().plus(delay);
    ex.pendingRestart = scheduler.schedule(() -> restart(ex), delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void restart(Exporter ex) {
    synchronized (this) {
      if (!current(ex)) {
        return;
      }
    }
    Optional<DuplicateExporter> duplicate;
    try {
      duplicate = segment.duplicateOf(ex.target, SegmentScanner.BEFORE_START); // outside the monitor: network I/O
    } catch (SegmentScanException e) {
      synchronized (this) {
        if (!current(ex)) {
          return;
        }
        ex.lastExitCode = null;
        ex.lastError = e.getMessage();
        LOG.warn("slot {}: not restarting the exporter yet: {}", ex.id, ex.lastError);
        scheduleRestart(ex, Duration.ZERO);
      }
      listener.exporterChanged(ex.id);
      return;
    }
    synchronized (this) {
      if (!current(ex) || ex.starting || (ex.handle != null && processes.alive(ex.handle))) {
        return; // stopped, restored or being started meanwhile: never a second process
      }
      ex.restarts++;
      try {
        startOrAdopt(ex, duplicate);
      } catch (RuntimeException e) {
        ex.lastExitCode = null;
        ex.lastError = "restart failed: " + e;
        LOG.warn("slot {}: {}", ex.id, ex.lastError, e);
        scheduleRestart(ex, Duration.ZERO); // the restart thread must never end a slot's supervision
      }
    }
    listener.exporterChanged(ex.id);
  }

  /** Whether {@code ex} is still supervised; called with the monitor held. */
  private boolean current(Exporter ex) {
    return !ex.stopped && !closed && exporters.get(ex.id) == ex;
  }

  /** SIGTERM, bounded wait, SIGKILL, bounded wait. Blocks the calling thread at most 2 x STOP_WAIT. */
  private void terminate(LivePid process) {
    if (!processes.alive(process)) {
      return;
    }
    ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroy);
    if (!awaitExit(process)) {
      LOG.warn("vblade pid {} ignored SIGTERM for {} s; sending SIGKILL", process.pid(), STOP_WAIT.toSeconds());
      if (processes.alive(process)) { // never a signal to a later process that got the pid
        ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroyForcibly);
      }
      awaitExit(process);
    }
    processes.ended(process.pid());
  }

  /**
   * Polls {@code /proc/<pid>/stat} every 10 ms for up to {@link #STOP_WAIT}: the process is not our
   * child, so no wait(2) tells us; a zombie counts as gone.
   */
  private boolean awaitExit(LivePid process) {
    long deadline = System.nanoTime() + STOP_WAIT.toNanos();
    while (processes.alive(process)) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return !processes.alive(process);
      }
    }
    return true;
  }

  private static Optional<String> lastLine(Path file) {
    try {
      List<String> lines = Files.readAllLines(file);
      for (int i = lines.size() - 1; i >= 0; i--) {
        if (!lines.get(i).isBlank()) {
          return Optional.of(lines.get(i).strip());
        }
      }
      return Optional.empty();
    } catch (IOException e) {
      LOG.debug("cannot read exporter log {}: {}", file, e.getMessage());
      return Optional.empty();
    }
  }
}
