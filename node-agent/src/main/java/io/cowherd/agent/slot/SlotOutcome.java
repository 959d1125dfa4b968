package io.cowherd.agent.slot;

import io.cowherd.agent.backend.CowStore;
import io.cowherd.agent.backend.OriginStamp;
import io.cowherd.agent.backend.CowUsage;
import io.cowherd.agent.export.ExporterState;
import io.cowherd.agent.export.GuardState;
import java.util.Optional;

/**
 * What the host holds for one slot after acting.
 *
 * @param store the COW store, if it exists
 * @param usage its usage, if it exists
 * @param exporter the exporter, if supervised
 * @param guard the ingress guard of the exporter's interface, if the slot exports
 * @param unreserved why the store's space is not fully reserved, if it is not (it keeps serving)
 * @param origin the origin the store serves compared with what it was made from, if the store exists
 */
public record SlotOutcome(Optional<CowStore> store, Optional<CowUsage> usage, Optional<ExporterState> exporter,
    Optional<GuardState> guard, Optional<String> unreserved, Optional<OriginStamp.Verdict> origin) {
  /** Without an origin comparison. */
  public SlotOutcome(Optional<CowStore> store, Optional<CowUsage> usage, Optional<ExporterState> exporter,
      Optional<GuardState> guard, Optional<String> unreserved) {
    this(store, usage, exporter, guard, unreserved, Optional.empty());
  }

  /** Without a guard (nothing exported) and with a fully reserved (or absent) store. */
  public SlotOutcome(Optional<CowStore> store, Optional<CowUsage> usage, Optional<ExporterState> exporter) {
    this(store, usage, exporter, Optional.empty(), Optional.empty(), Optional.empty());
  }
}
