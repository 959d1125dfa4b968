package io.cowherd.operator.status;

import java.util.List;

/**
 * What one reconciliation did to a pool's slots, and what it could not do.
 *
 * @param created slot objects created
 * @param updated slot objects whose spec or labels were updated
 * @param deleted slot objects deleted (scale-down)
 * @param released slot objects whose Node is gone: finalizer cleared and deleted
 * @param terminating slot objects already being deleted (waiting for their node agent)
 * @param unplaced slot numbers not created because no Node is eligible, ascending
 * @param unplacedReason why no Node is eligible (see {@code NodeEligibility.describe()}); empty
 *     when {@code unplaced} is empty
 */
public record SlotProgress(
    int created, int updated, int deleted, int released, int terminating, List<Integer> unplaced, String unplacedReason) {
  /** Copies the list so the record stays immutable. */
  public SlotProgress {
    unplaced = List.copyOf(unplaced);
  }

  /** Nothing done, nothing pending. */
  public static SlotProgress none() {
    return new SlotProgress(0, 0, 0, 0, 0, List.of(), "");
  }

  /** True when slot objects were written or are going away. */
  public boolean changing() {
    return created + updated + deleted + released + terminating > 0;
  }
}
