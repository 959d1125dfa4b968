package io.cowherd.agent.export;

import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.host.VbladeTarget;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The one home of "never two exporters of one target on this host": given one indexed scan of
 * {@code /proc} ({@link VbladeProcesses.Snapshot}), sorts the vblade processes that matter to a
 * wanted target. The observer (what to report), the plan (whether to block) and the supervisor
 * (what to stop, adopt or start) all read this verdict; none decides it again.
 *
 * <ul>
 *   <li><b>exact</b>: same AoE address and exactly the argv cowherd starts ({@link
 *       VbladeProcess#isExactly}): ours; the first is adopted, every further one is a duplicate of
 *       ours and is stopped.
 *   <li><b>stale</b>: serving one of our paths with another address or other options (started
 *       without {@code -s} by an older agent, or before {@code spec.export.writeCache} changed):
 *       ours, replaced, never adopted (adopting it would keep acknowledging writes the way the slot
 *       no longer asks for).
 *   <li><b>conflict</b>: claims the same shelf, slot and interface from a path that is not ours: not
 *       ours; nothing of ours may run beside it.
 * </ul>
 */
public final class TargetClaims {
  /** Rounds of {@link #judgeLive}: each drops the ended processes the last verdict named. */
  static final int MAX_ROUNDS = 3;

  private TargetClaims() {}

  /**
   * @param conflict the first process not ours claiming the target's address
   * @param stale processes serving one of our paths that are not exactly the wanted exporter
   * @param exact processes that are exactly the wanted exporter
   */
  public record Verdict(Optional<VbladeProcess> conflict, List<VbladeProcess> stale, List<VbladeProcess> exact) {
    public Verdict {
      stale = List.copyOf(stale);
      exact = List.copyOf(exact);
    }
  }

  /**
   * @param seen one scan of {@code /proc}
   * @param wanted the exporter the slot should have
   * @param ours paths this slot's exporters serve (a process serving one of them is never a conflict)
   * @param ignore pids to leave out (processes being ended)
   */
  public static Verdict judge(VbladeProcesses.Snapshot seen, VbladeTarget wanted, Collection<Path> ours,
      Collection<Long> ignore) {
    List<VbladeProcess> claiming = seen.claiming(wanted).stream().filter(p -> !ignore.contains(p.pid())).toList();
    List<VbladeProcess> exact = claiming.stream().filter(p -> p.isExactly(wanted)).toList();
    Optional<VbladeProcess> conflict = claiming.stream()
        .filter(p -> !p.isExactly(wanted) && !ours.contains(p.target().path())).findFirst();
    List<VbladeProcess> stale = seen.serving(wanted.path()).stream()
        .filter(p -> !ignore.contains(p.pid()) && !p.isExactly(wanted)).toList();
    return new Verdict(conflict, stale, exact);
  }

  /**
   * {@link #judge} on {@code processes}' shared snapshot (at most {@code maxAge} old), leaving out
   * processes that ended since the snapshot saw them. An exited vblade stays in {@code /proc} as a
   * zombie until its parent (init, or a subreaper that may be slow) reaps it, and an incremental
   * snapshot keeps every pid whose {@code /proc} entry remains; so each process the verdict names is
   * checked ({@link VbladeProcesses#dropEnded}: one {@code /proc/<pid>/stat} read, usually for 0–2
   * pids) and the verdict is judged again without the ones that ended. Without this a stop reported
   * a zombie as "still running after SIGKILL", and a start could take a dead process for a conflict.
   *
   * @throws IllegalStateException if {@code /proc} cannot be listed
   */
  public static Verdict judgeLive(VbladeProcesses processes, Duration maxAge, VbladeTarget wanted,
      Collection<Path> ours, Collection<Long> ignore) {
    Verdict verdict = judge(processes.snapshot(maxAge), wanted, ours, ignore);
    // Bounded: a dropped pid is read again and a zombie shows no argv, so one more round settles it;
    // a /proc that kept showing a dead vblade's argv must not spin the caller.
    for (int round = 0; round < MAX_ROUNDS && processes.dropEnded(named(verdict)); round++) {
      verdict = judge(processes.snapshot(maxAge), wanted, ours, ignore);
    }
    return verdict;
  }

  private static List<VbladeProcess> named(Verdict verdict) {
    return Stream.of(verdict.conflict().stream(), verdict.stale().stream(), verdict.exact().stream())
        .flatMap(s -> s).toList();
  }
}
