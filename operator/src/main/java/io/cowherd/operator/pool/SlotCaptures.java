package io.cowherd.operator.pool;

import io.cowherd.api.SlotOrigins;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * When a user's capture request ({@link SlotOrigins#CAPTURE_ANNOTATION} on a slot) is passed on to
 * the slot's node agent as {@code spec.capture}. Pure; the one home of that gate.
 *
 * <p>A new path is passed on when it is well formed (absolute, no {@code ..} segment, at most 4096
 * characters: the image roots are checked by the agent, which knows them) and the slot's client is
 * not seen doing I/O ({@link ClientActivity#busy}), or the user forced it ({@link
 * SlotOrigins#CAPTURE_FORCE_ANNOTATION} repeating the path). Unlike a reset, a refused capture is
 * not final: it waits and is passed on once the client falls silent (e.g. is powered off), since a
 * capture never changes the client's disk. Once passed on, {@code spec.capture} keeps the path;
 * a new capture needs a new path.
 */
public final class SlotCaptures {
  private SlotCaptures() {}

  /**
   * Why {@code existing}'s new capture request is not passed on now, with what to do; empty when
   * there is none pending or it may go.
   */
  public static Optional<String> refusal(AoeBootSlot existing, Optional<AoeBootClient> client, Instant now) {
    Optional<String> path = pending(existing);
    if (path.isEmpty()) {
      return Optional.empty();
    }
    String name = existing.getMetadata().getName();
    Optional<String> bad = malformed(path.get());
    if (bad.isPresent()) {
      return Optional.of("capture of slot " + name + " to '" + path.get() + "' ignored: " + bad.get());
    }
    if (SlotOrigins.captureForced(existing)) {
      return Optional.empty();
    }
    return ClientActivity.busy(client, now).map(why -> "capture of slot " + name + " to " + path.get()
        + " waits: " + why + "; it starts once the client is silent (power it off, or stop its disk I/O), or force"
        + " it: kubectl annotate aoebootslot " + name + " " + SlotOrigins.CAPTURE_FORCE_ANNOTATION + "=" + path.get()
        + " --overwrite (a copy of a disk in use may need a file system check)");
  }

  /** Sets {@code desired}'s {@code spec.capture}: the new request when it may go, else {@code existing}'s. */
  public static void apply(AoeBootSlot existing, AoeBootSlot desired, Optional<AoeBootClient> client, Instant now) {
    Optional<String> path = pending(existing);
    boolean go = path.isPresent() && refusal(existing, client, now).isEmpty();
    desired.getSpec().setCapture(go ? path.get() : existing.getSpec().getCapture());
  }

  /** The annotation's path when it differs from the one already passed on. */
  private static Optional<String> pending(AoeBootSlot existing) {
    return SlotOrigins.captureRequested(existing).filter(p -> !Objects.equals(p, existing.getSpec().getCapture()));
  }

  /** What is wrong with {@code path} before any node sees it (the CRD's rule for {@code spec.capture}). */
  static Optional<String> malformed(String path) {
    if (!path.startsWith("/")) {
      return Optional.of("not an absolute path");
    }
    if (path.length() > 4096 || path.indexOf('\0') >= 0) {
      return Optional.of("longer than 4096 characters or holding a NUL");
    }
    if (path.chars().anyMatch(Character::isISOControl)) {
      return Optional.of("holding a control character (a newline, a tab, ...)");
    }
    for (String part : path.split("/")) {
      if (part.equals("..")) {
        return Optional.of("a '..' path segment");
      }
    }
    if (path.endsWith("/")) {
      return Optional.of("names a directory, not a file");
    }
    return Optional.empty();
  }
}
