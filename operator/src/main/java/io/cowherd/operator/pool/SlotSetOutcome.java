package io.cowherd.operator.pool;

import java.util.List;

/**
 * What {@link SlotSetExecutor} did.
 *
 * @param created slot objects created
 * @param updated slot objects re-applied with a new spec
 * @param deleted slot objects deleted
 * @param released slot objects released because their Node is gone
 * @param skipped names of slots not created or updated because a live re-check found their target
 *     held by another pool's slot (the next reconciliation reports the conflict)
 */
public record SlotSetOutcome(int created, int updated, int deleted, int released, List<String> skipped) {
  /** Copies the list so the record stays immutable. */
  public SlotSetOutcome {
    skipped = List.copyOf(skipped);
  }
}
