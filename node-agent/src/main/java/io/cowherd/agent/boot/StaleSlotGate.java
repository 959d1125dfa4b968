package io.cowherd.agent.boot;

import io.cowherd.api.SlotOrigins;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.UpdateStrategy;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Objects;
import java.util.Optional;

/**
 * Whether a client's boot script is held back because its slot moves to another origin. Pure; the
 * boot directory asks it before answering a script.
 *
 * <ul>
 *   <li>The slot is stale ({@code spec.image} is not the pool's image) and the pool's strategy is
 *       {@code OnReboot}: hold, and ask the operator to move the slot ({@link Verdict#requestUpdate};
 *       the endpoint records {@code status.boot.updateRequestedAt}), unless a request it has not
 *       served yet is younger than {@link #REQUEST_AGAIN_AFTER}.
 *   <li>The slot carries a rebuild token its agent does not yet report done ({@code
 *       status.origin.rebuild} for the current generation): hold until it does. Once done, the
 *       phase does not matter here (a slot failing later for another reason boots as before).
 *   <li>Otherwise: answer the script.
 * </ul>
 */
public final class StaleSlotGate {
  /** Seconds a held client waits before it asks again. */
  public static final int RETRY_SECONDS = 3;
  /** A request the operator has not acted on is repeated after this long (e.g. the operator was down). */
  public static final Duration REQUEST_AGAIN_AFTER = Duration.ofSeconds(60);

  private StaleSlotGate() {}

  /**
   * A held answer.
   *
   * @param message shown on the client's console
   * @param requestUpdate whether to record a new {@code updateRequestedAt}
   */
  public record Verdict(String message, boolean requestUpdate) {}

  /**
   * @param slot the client's slot object, if it is known here
   * @return empty when the script may be answered
   */
  public static Optional<Verdict> check(AoeBootPool pool, Optional<AoeBootSlot> slot, AoeBootClient client,
      Instant now) {
    if (slot.isEmpty() || slot.get().getSpec() == null || pool.getSpec() == null) {
      return Optional.empty();
    }
    AoeBootSlot s = slot.get();
    String image = pool.getSpec().getImage();
    boolean stale = !Objects.equals(s.getSpec().getImage(), image);
    if (stale && pool.getSpec().updateStrategyOrDefault() == UpdateStrategy.OnReboot) {
      return Optional.of(new Verdict("this machine moves to the new pool image " + image + ": its disk is rebuilt"
          + " (its writes stay with the old image " + s.getSpec().getImage() + ")", requestDue(s, client, now)));
    }
    String token = s.getSpec().getRebuild();
    if (token != null && !rebuilt(s, token)) {
      String progress = s.getStatus() == null || s.getStatus().getMessage() == null ? "waiting for the node agent"
          : s.getStatus().getMessage();
      return Optional.of(new Verdict("the disk of this machine is being rebuilt on " + s.getSpec().getImage() + ": "
          + progress, false));
    }
    return Optional.empty();
  }

  private static boolean rebuilt(AoeBootSlot s, String token) {
    return s.getStatus() != null && s.getStatus().getOrigin() != null && token.equals(s.getStatus().getOrigin().getRebuild())
        && Objects.equals(s.getStatus().getObservedGeneration(), s.getMetadata().getGeneration());
  }

  /** A new request unless one the operator has not served yet is younger than {@link #REQUEST_AGAIN_AFTER}. */
  private static boolean requestDue(AoeBootSlot s, AoeBootClient client, Instant now) {
    String last = client.getStatus() == null || client.getStatus().getBoot() == null ? null
        : client.getStatus().getBoot().getUpdateRequestedAt();
    if (last == null) {
      return true;
    }
    if (SlotOrigins.rebootToken(last).filter(t -> t.equals(s.getSpec().getRebuild())).isPresent()) {
      return true; // served already: this is a new reboot (e.g. after a rollback)
    }
    try {
      return !Instant.parse(last).plus(REQUEST_AGAIN_AFTER).isAfter(now);
    } catch (DateTimeParseException e) {
      return true;
    }
  }
}
