package io.cowherd.operator.pool;

import io.cowherd.api.SlotOrigins;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotSpec;
import io.cowherd.api.v1alpha1.SlotPlacement;
import io.cowherd.api.v1alpha1.UpdateStrategy;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Which origin an existing slot is on, and when it moves to its pool's image. Pure; the one home
 * of the pool's update strategy.
 *
 * <p>A slot keeps the image it was built from ({@code spec.image}) and its rebuild token ({@code
 * spec.rebuild}) until one of these moves it to the pool's image with a new token (the node agent
 * then discards its COW data and rebuilds it):
 * <ol>
 *   <li>a reset: annotation {@link SlotOrigins#RESET_ANNOTATION} whose value gives a token ({@code
 *       reset-<value>}) other than the slot's — under either strategy, stale or not;
 *   <li>{@link UpdateStrategy#OnReboot}: the slot is stale and its client's {@code
 *       status.boot.updateRequestedAt} (written by the boot endpoint that held back its script)
 *       gives a token ({@code reboot-<time>}) other than the slot's.
 * </ol>
 * A reset value that cannot form a token (see {@link SlotOrigins#TOKEN_PATTERN}) moves nothing
 * and is reported by {@link #invalidReset}. Rollback is a change of the pool's image back: slots
 * still on it are no longer stale; moved ones move again under the same rules.
 */
public final class OriginRollout {
  private OriginRollout() {}

  /**
   * Why a slot moves.
   *
   * @param token the new rebuild token
   * @param cause "reset" or "reboot"
   */
  public record Move(String token, String cause) {}

  /**
   * The move of {@code existing} to {@code pool}'s image, if one is due.
   *
   * @param updateRequestedAt the slot's client's {@code status.boot.updateRequestedAt}, if any
   */
  public static Optional<Move> due(AoeBootPool pool, AoeBootSlot existing, Optional<String> updateRequestedAt) {
    AoeBootSlotSpec spec = existing.getSpec();
    Optional<String> reset = SlotOrigins.resetRequested(existing).flatMap(SlotOrigins::resetToken);
    if (reset.isPresent() && !reset.get().equals(spec.getRebuild())) {
      return Optional.of(new Move(reset.get(), "reset"));
    }
    boolean stale = !Objects.equals(spec.getImage(), pool.getSpec().getImage());
    if (stale && pool.getSpec().updateStrategyOrDefault() == UpdateStrategy.OnReboot) {
      Optional<String> reboot = updateRequestedAt.flatMap(SlotOrigins::rebootToken);
      if (reboot.isPresent() && !reboot.get().equals(spec.getRebuild())) {
        return Optional.of(new Move(reboot.get(), "reboot"));
      }
    }
    return Optional.empty();
  }

  /**
   * Sets {@code desired}'s image and rebuild token (built from the pool for {@code existing}'s
   * slot number): the pool's image with the move's token when a move is due, else {@code
   * existing}'s own. {@code spec.poolImage} stays the pool's.
   *
   * @return the move made, if any
   */
  public static Optional<Move> apply(AoeBootPool pool, AoeBootSlot existing, AoeBootSlot desired,
      Optional<String> updateRequestedAt) {
    Optional<Move> move = due(pool, existing, updateRequestedAt);
    if (move.isPresent()) {
      desired.getSpec().setImage(pool.getSpec().getImage());
      desired.getSpec().setRebuild(move.get().token());
    } else {
      desired.getSpec().setImage(existing.getSpec().getImage() == null ? pool.getSpec().getImage()
          : existing.getSpec().getImage());
      desired.getSpec().setRebuild(existing.getSpec().getRebuild());
    }
    return move;
  }

  /**
   * Builds each slot in {@code creates} on the image and rebuild token recorded for its data
   * ({@code status.placements}) when its data may still exist on that node, so a slot object
   * deleted by hand (or lost and found) after the pool's image changed adopts its data again
   * instead of meeting it as a conflict. Changes {@code creates} in place.
   */
  public static void restore(List<AoeBootSlot> creates, Map<Integer, SlotPlacement> recorded) {
    for (AoeBootSlot slot : creates) {
      SlotPlacement p = recorded.get(slot.getSpec().getSlot());
      if (p != null && p.getImage() != null && Objects.equals(p.getNodeName(), slot.getSpec().getNodeName())) {
        slot.getSpec().setImage(p.getImage());
        slot.getSpec().setRebuild(p.getRebuild());
      }
    }
  }

  /** The reset annotation's value of {@code slot} when it cannot form a rebuild token. */
  public static Optional<String> invalidReset(AoeBootSlot slot) {
    return SlotOrigins.resetRequested(slot).filter(v -> SlotOrigins.resetToken(v).isEmpty());
  }

  /** Slot number → {@code status.boot.updateRequestedAt} of the client assigned to it. */
  public static Map<Integer, String> updateRequests(List<AoeBootClient> clients) {
    Map<Integer, String> requests = new HashMap<>();
    for (AoeBootClient c : clients) {
      if (c.getStatus() != null && c.getStatus().getSlot() != null && c.getStatus().getBoot() != null
          && c.getStatus().getBoot().getUpdateRequestedAt() != null) {
        requests.put(c.getStatus().getSlot(), c.getStatus().getBoot().getUpdateRequestedAt());
      }
    }
    return requests;
  }
}
