package io.cowherd.operator.pool;

import io.cowherd.api.SlotOrigins;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotSpec;
import io.cowherd.api.v1alpha1.IdleUpdateSpec;
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
 * and, with {@code spec.idleUpdate} set, 3. a paced move of a stale slot whose client has been
 * silent long enough ({@link #paced}). A reset is refused while the slot's client is seen doing
 * I/O ({@link #refusal}) unless forced.
 * A reset value that cannot form a token (see {@link SlotOrigins#TOKEN_PATTERN}) moves nothing
 * and is reported by {@link #invalidReset}. Rollback is a change of the pool's image back: slots
 * still on it are no longer stale; moved ones move again under the same rules.
 */
public final class OriginRollout {
  /** Prefix of the token of a paced move of an idle client ({@code spec.idleUpdate}). */
  public static final String IDLE_PREFIX = "idle-";

  private OriginRollout() {}

  /**
   * Why a slot moves.
   *
   * @param token the new rebuild token
   * @param cause "reset" or "reboot"
   */
  public record Move(String token, String cause) {}

  /**
   * What the operator knows of the clients of a pool's slots at one instant.
   *
   * @param bySlot slot number → the client assigned to it ({@code status.slot})
   * @param now the time the clients' recorded I/O is judged at
   */
  public record Clients(Map<Integer, AoeBootClient> bySlot, java.time.Instant now) {
    /** No client known (every reset is allowed, no reboot request). */
    public static Clients none() {
      return new Clients(Map.of(), java.time.Instant.EPOCH);
    }

    /** The client of slot {@code number}, if any. */
    public Optional<AoeBootClient> of(int number) {
      return Optional.ofNullable(bySlot.get(number));
    }
  }

  /**
   * A reset that is not made because the slot's client is seen doing I/O ({@link
   * ClientActivity#busy}); it stays refused for this annotation value until the user forces it
   * ({@link SlotOrigins#RESET_FORCE_ANNOTATION} set to the same value) or asks again with a new one.
   *
   * @param value the reset annotation's value
   * @param message why, and the commands that force it or ask again
   */
  public record Refusal(String value, String message) {}

  /**
   * The move of {@code existing} to {@code pool}'s image, if one is due.
   *
   * @param client the slot's client, if any (its {@code status.boot.updateRequestedAt} and I/O)
   */
  public static Optional<Move> due(AoeBootPool pool, AoeBootSlot existing, Optional<AoeBootClient> client,
      java.time.Instant now) {
    AoeBootSlotSpec spec = existing.getSpec();
    Optional<String> value = SlotOrigins.resetRequested(existing);
    Optional<String> reset = value.flatMap(SlotOrigins::resetToken);
    if (reset.isPresent() && !reset.get().equals(spec.getRebuild())) {
      if (SlotOrigins.resetForced(existing)) {
        return Optional.of(new Move(reset.get(), "forced reset"));
      }
      if (refusal(existing, client, now).isEmpty()) {
        return Optional.of(new Move(reset.get(), "reset"));
      }
    }
    boolean stale = !Objects.equals(spec.getImage(), pool.getSpec().getImage());
    if (stale && pool.getSpec().updateStrategyOrDefault() == UpdateStrategy.OnReboot) {
      Optional<String> reboot = client.flatMap(OriginRollout::updateRequestedAt).flatMap(SlotOrigins::rebootToken);
      if (reboot.isPresent() && !reboot.get().equals(spec.getRebuild())) {
        return Optional.of(new Move(reboot.get(), "reboot"));
      }
    }
    return Optional.empty();
  }

  /**
   * The refusal of {@code existing}'s pending reset, if it is refused: its client is seen doing
   * I/O now, or this very value was refused before ({@link SlotOrigins#RESET_REFUSED_ANNOTATION}),
   * and the user did not force it. Empty when no reset is pending (none asked, already made, or an
   * invalid value).
   */
  public static Optional<Refusal> refusal(AoeBootSlot existing, Optional<AoeBootClient> client, java.time.Instant now) {
    Optional<String> value = SlotOrigins.resetRequested(existing);
    Optional<String> reset = value.flatMap(SlotOrigins::resetToken);
    if (reset.isEmpty() || reset.get().equals(existing.getSpec().getRebuild()) || SlotOrigins.resetForced(existing)) {
      return Optional.empty();
    }
    String name = existing.getMetadata().getName();
    String how = "; power the client off and ask again with a new value, or force this one: kubectl annotate"
        + " aoebootslot " + name + " " + SlotOrigins.RESET_FORCE_ANNOTATION + "=" + value.get() + " --overwrite"
        + " (the client sees I/O errors until it reboots)";
    Optional<String> busy = ClientActivity.busy(client, now);
    if (busy.isPresent()) {
      return Optional.of(new Refusal(value.get(), "reset '" + value.get() + "' of slot " + name + " refused: "
          + busy.get() + how));
    }
    if (value.equals(SlotOrigins.resetRefused(existing))) {
      return Optional.of(new Refusal(value.get(), "reset '" + value.get() + "' of slot " + name
          + " was refused while its client was doing I/O" + how));
    }
    return Optional.empty();
  }

  /**
   * The paced moves of idle clients due now ({@code spec.idleUpdate}; empty when unset): each stale
   * slot, lowest number first, whose client has been silent for at least {@code silentFor} ({@link
   * ClientActivity#silentFor}) and that no reset or reboot moves already, while fewer than {@code
   * maxUnavailable} slots of the pool are rebuilding ({@link #rebuilding}, counting the moves due
   * now). The token is {@code idle-g<pool generation>-<epoch second of the client's last activity>}:
   * a rollback (new generation) moves a slot again, the same silence on the same image never twice.
   *
   * @param slots the pool's slot objects
   * @return slot number → move
   */
  public static Map<Integer, Move> paced(AoeBootPool pool, java.util.Collection<AoeBootSlot> slots, Clients clients) {
    IdleUpdateSpec idle = pool.getSpec().getIdleUpdate();
    if (idle == null) {
      return Map.of();
    }
    java.time.Duration after = idle.silentForDuration();
    List<AoeBootSlot> live = slots.stream().filter(s -> s.getMetadata().getDeletionTimestamp() == null
        && s.getSpec() != null && s.getSpec().getSlot() != null
        && s.getSpec().getSlot() < pool.getSpec().replicasOrZero())
        .sorted(java.util.Comparator.comparing(s -> s.getSpec().getSlot())).toList();
    long busy = live.stream().filter(s -> rebuilding(s)
        || due(pool, s, clients.of(s.getSpec().getSlot()), clients.now()).isPresent()).count();
    Map<Integer, Move> moves = new java.util.TreeMap<>();
    for (AoeBootSlot slot : live) {
      int number = slot.getSpec().getSlot();
      Optional<AoeBootClient> client = clients.of(number);
      if (busy + moves.size() >= idle.maxUnavailableOrDefault()) {
        break;
      }
      if (Objects.equals(slot.getSpec().getImage(), pool.getSpec().getImage()) || rebuilding(slot)
          || due(pool, slot, client, clients.now()).isPresent()) {
        continue;
      }
      Optional<java.time.Duration> silent = ClientActivity.silentFor(client, clients.now());
      if (silent.isPresent() && silent.get().compareTo(after) >= 0) {
        long last = clients.now().minus(silent.get()).getEpochSecond();
        String token = IDLE_PREFIX + "g" + pool.getMetadata().getGeneration() + "-" + last;
        if (SlotOrigins.validToken(token) && !token.equals(slot.getSpec().getRebuild())) {
          moves.put(number, new Move(token, "idle for " + silent.get().toSeconds() + " s"));
        }
      }
    }
    return moves;
  }

  /**
   * When the next stale slot's client will have been silent for {@code spec.idleUpdate.silentFor}
   * (the operator looks again then: silence grows without any event); empty when pacing is off or
   * no stale slot's client is counting towards it.
   */
  public static Optional<java.time.Duration> nextIdleCheck(AoeBootPool pool, java.util.Collection<AoeBootSlot> slots,
      Clients clients) {
    IdleUpdateSpec idle = pool.getSpec().getIdleUpdate();
    if (idle == null) {
      return Optional.empty();
    }
    java.time.Duration after = idle.silentForDuration();
    return slots.stream()
        .filter(s -> s.getSpec() != null && s.getSpec().getSlot() != null
            && !Objects.equals(s.getSpec().getImage(), pool.getSpec().getImage()))
        .map(s -> ClientActivity.silentFor(clients.of(s.getSpec().getSlot()), clients.now()))
        .flatMap(Optional::stream)
        .filter(silent -> silent.compareTo(after) < 0)
        .map(silent -> after.minus(silent).plusSeconds(1))
        .min(java.time.Duration::compareTo);
  }

  /**
   * Whether {@code slot} is being rebuilt: the operator asked for a rebuild ({@code spec.rebuild})
   * its agent has not reported done ({@code status.origin.rebuild}).
   */
  public static boolean rebuilding(AoeBootSlot slot) {
    String asked = slot.getSpec().getRebuild();
    String done = slot.getStatus() == null || slot.getStatus().getOrigin() == null ? null
        : slot.getStatus().getOrigin().getRebuild();
    return asked != null && !asked.equals(done);
  }

  /**
   * Sets {@code desired}'s image and rebuild token (built from the pool for {@code existing}'s
   * slot number): the pool's image with the move's token when a move is due, else {@code
   * existing}'s own. {@code spec.poolImage} stays the pool's. A refused reset is recorded on {@code
   * desired} ({@link SlotOrigins#RESET_REFUSED_ANNOTATION}), so it stays refused when the client
   * falls silent later.
   *
   * @return the move made, if any
   */
  public static Optional<Move> apply(AoeBootPool pool, AoeBootSlot existing, AoeBootSlot desired,
      Optional<AoeBootClient> client, java.time.Instant now) {
    return apply(pool, existing, desired, client, now, Optional.empty());
  }

  /**
   * {@link #apply(AoeBootPool, AoeBootSlot, AoeBootSlot, Optional, java.time.Instant)}, also making
   * {@code paced} (from {@link #paced}) when no reset or reboot moves the slot.
   */
  public static Optional<Move> apply(AoeBootPool pool, AoeBootSlot existing, AoeBootSlot desired,
      Optional<AoeBootClient> client, java.time.Instant now, Optional<Move> paced) {
    Optional<Move> move = due(pool, existing, client, now).or(() -> paced);
    if (move.isPresent()) {
      desired.getSpec().setImage(pool.getSpec().getImage());
      desired.getSpec().setRebuild(move.get().token());
    } else {
      desired.getSpec().setImage(existing.getSpec().getImage() == null ? pool.getSpec().getImage()
          : existing.getSpec().getImage());
      desired.getSpec().setRebuild(existing.getSpec().getRebuild());
    }
    refusal(existing, client, now).ifPresent(r -> {
      Map<String, String> annotations = new HashMap<>();
      if (desired.getMetadata().getAnnotations() != null) {
        annotations.putAll(desired.getMetadata().getAnnotations());
      }
      annotations.put(SlotOrigins.RESET_REFUSED_ANNOTATION, r.value());
      desired.getMetadata().setAnnotations(annotations);
    });
    return move;
  }

  private static Optional<String> updateRequestedAt(AoeBootClient c) {
    return Optional.ofNullable(c.getStatus()).map(s -> s.getBoot()).map(b -> b.getUpdateRequestedAt());
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

  /** The pool's clients by the slot they are assigned ({@code status.slot}), judged at {@code now}. */
  public static Clients clients(List<AoeBootClient> clients, java.time.Instant now) {
    Map<Integer, AoeBootClient> bySlot = new HashMap<>();
    for (AoeBootClient c : clients) {
      if (c.getStatus() != null && c.getStatus().getSlot() != null) {
        bySlot.put(c.getStatus().getSlot(), c);
      }
    }
    return new Clients(bySlot, now);
  }
}
