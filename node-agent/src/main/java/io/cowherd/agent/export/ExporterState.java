package io.cowherd.agent.export;

import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.agent.host.VbladeTarget;
import java.time.Instant;

/**
 * A snapshot of one slot's exporter as the supervisor sees it.
 *
 * @param target what it serves
 * @param pid process id while running, else {@code null}
 * @param adopted whether the running process was found on the host rather than started here
 * @param restarts how many times it was restarted after exiting
 * @param lastExitCode exit code of the last exit, {@code null} if it never exited or the code is
 *     unknown (an adopted process is not our child)
 * @param lastError last stderr line before the last exit (or why it could not start), or {@code null}
 * @param consecutiveFailures exits since the last stable run
 * @param nextRestartAt when the next restart is due while backing off, else {@code null}
 * @param conflict a foreign vblade claiming the same shelf, slot and interface, else {@code null}
 * @param duplicate another exporter answering for the target on the segment (found before a
 *     start), else {@code null}; nothing of this slot was left running
 */
public record ExporterState(
    VbladeTarget target,
    Long pid,
    boolean adopted,
    int restarts,
    Integer lastExitCode,
    String lastError,
    int consecutiveFailures,
    Instant nextRestartAt,
    VbladeProcess conflict,
    DuplicateExporter duplicate) {

  /** Whether an exporter process is running now. */
  public boolean running() {
    return pid != null;
  }
}
