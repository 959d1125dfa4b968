package io.cowherd.agent.export;

import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.host.VbladeTarget;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

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
}
