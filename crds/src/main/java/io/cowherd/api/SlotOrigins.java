package io.cowherd.api;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The one home of the origin-update vocabulary shared by the operator and the node agent.
 *
 * <p>A slot is rebuilt on its {@code spec.image} (COW data discarded) when the operator writes a
 * new {@code spec.rebuild} token: the agent records the token it built the COW store for in the
 * store's stamp and rebuilds when the slot's token differs. The operator writes a token when a
 * user asks for a reset ({@link #RESET_ANNOTATION} on the slot: the token is the annotation's
 * value) or, under {@code updateStrategy: OnReboot}, when the slot's client asked for its boot
 * script while the slot was stale ({@link #rebootToken}).
 */
public final class SlotOrigins {
  /**
   * Annotation a user sets on a slot to rebuild it on its pool's current image: {@code kubectl
   * annotate aoebootslot <name> cowherd.io/reset-requested=<token> --overwrite}, the token a
   * value never used before for this slot (e.g. {@code date -u +%Y%m%dT%H%M%SZ}). Setting the same
   * value again does nothing.
   */
  public static final String RESET_ANNOTATION = AoeBootPool.GROUP + "/reset-requested";
  /**
   * Annotation a user sets on a slot, to the same value as {@link #RESET_ANNOTATION}, to make that
   * reset even while the slot's client is seen doing I/O (the operator refuses it otherwise). A
   * force left behind forces nothing else: it must name the reset's value.
   */
  public static final String RESET_FORCE_ANNOTATION = AoeBootPool.GROUP + "/reset-force";
  /**
   * Annotation the operator sets on a slot to the reset value it refused (client seen doing I/O):
   * that value stays refused even when the client falls silent later, until forced.
   */
  public static final String RESET_REFUSED_ANNOTATION = AoeBootPool.GROUP + "/reset-refused";
  /**
   * Annotation a user sets on a slot to capture its disk (origin plus COW data) into a new origin
   * file: {@code kubectl annotate aoebootslot <name> cowherd.io/capture-to=/srv/images/new.img}. The
   * operator passes it on ({@code spec.capture}) once the slot's client is not seen doing I/O; the
   * node agent writes the file, never over an existing one, and reports {@code status.capture}.
   */
  public static final String CAPTURE_ANNOTATION = AoeBootPool.GROUP + "/capture-to";
  /**
   * Annotation a user sets to the same path as {@link #CAPTURE_ANNOTATION} to capture even while
   * the client is seen doing I/O (the copy is then of a disk in use: a file system may need repair).
   */
  public static final String CAPTURE_FORCE_ANNOTATION = AoeBootPool.GROUP + "/capture-force";
  /** Pattern of a rebuild token ({@code spec.rebuild}). */
  public static final String TOKEN_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:+-]{0,62}$";
  private static final Pattern TOKEN = Pattern.compile(TOKEN_PATTERN);
  /** Prefix of a token the operator writes for a reboot under {@code OnReboot}. */
  public static final String REBOOT_PREFIX = "reboot-";
  /** Prefix of a token the operator writes for a user's reset. */
  public static final String RESET_PREFIX = "reset-";

  private SlotOrigins() {}

  /** Whether {@code token} may be a rebuild token: 1 to 63 of [A-Za-z0-9._:+-], starting alphanumeric. */
  public static boolean validToken(String token) {
    return token != null && TOKEN.matcher(token).matches();
  }

  /** The reset the user asked for on {@code slot} (the annotation's value), if any. */
  public static Optional<String> resetRequested(AoeBootSlot slot) {
    return annotation(slot, RESET_ANNOTATION);
  }

  /** Whether {@code slot}'s pending reset is forced: {@link #RESET_FORCE_ANNOTATION} equals its value. */
  public static boolean resetForced(AoeBootSlot slot) {
    Optional<String> value = resetRequested(slot);
    return value.isPresent() && value.equals(annotation(slot, RESET_FORCE_ANNOTATION));
  }

  /** The reset value the operator last refused on {@code slot} ({@link #RESET_REFUSED_ANNOTATION}), if any. */
  public static Optional<String> resetRefused(AoeBootSlot slot) {
    return annotation(slot, RESET_REFUSED_ANNOTATION);
  }

  /** The capture the user asked for on {@code slot} ({@link #CAPTURE_ANNOTATION}'s value), if any. */
  public static Optional<String> captureRequested(AoeBootSlot slot) {
    return annotation(slot, CAPTURE_ANNOTATION);
  }

  /** Whether {@code slot}'s capture is forced: {@link #CAPTURE_FORCE_ANNOTATION} equals its path. */
  public static boolean captureForced(AoeBootSlot slot) {
    Optional<String> value = captureRequested(slot);
    return value.isPresent() && value.equals(annotation(slot, CAPTURE_FORCE_ANNOTATION));
  }

  private static Optional<String> annotation(AoeBootSlot slot, String key) {
    Map<String, String> annotations = slot.getMetadata().getAnnotations();
    return Optional.ofNullable(annotations == null ? null : annotations.get(key)).map(String::strip)
        .filter(v -> !v.isEmpty());
  }

  /** The rebuild token for a reset with annotation value {@code value}; empty if it cannot be one. */
  public static Optional<String> resetToken(String value) {
    String token = RESET_PREFIX + value;
    return validToken(token) ? Optional.of(token) : Optional.empty();
  }

  /**
   * The rebuild token for a boot-script request seen at {@code requestedAt} (RFC 3339, as in
   * {@code status.boot.updateRequestedAt}); empty if it cannot be one.
   */
  public static Optional<String> rebootToken(String requestedAt) {
    String token = REBOOT_PREFIX + requestedAt;
    return validToken(token) ? Optional.of(token) : Optional.empty();
  }
}
