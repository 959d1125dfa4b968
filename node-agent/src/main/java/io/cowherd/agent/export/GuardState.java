package io.cowherd.agent.export;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the {@link IngressGuard} of one interface looks like, as last checked.
 *
 * @param iface the exporters' interface
 * @param table the nftables netdev table that guards it
 * @param active whether the table is installed and verified: AoE control frames from the segment
 *     are dropped before any exporter sees them
 * @param message for humans: what is dropped, or why the guard is off
 * @param droppedFrames frames dropped since the agent started guarding the interface, by rule
 *     ({@link IngressGuard#RULES}); kept across re-installs, so the numbers only grow
 * @param offenders source MACs of dropped frames within the last {@link IngressGuard#OFFENDER_TIMEOUT}
 *     (as nft prints them, {@code aa:bb:cc:dd:ee:ff})
 * @param checkedAt when the table was last read
 */
public record GuardState(String iface, String table, boolean active, String message, Map<String, Long> droppedFrames,
    List<String> offenders, Instant checkedAt) {
  public GuardState {
    droppedFrames = Collections.unmodifiableMap(new LinkedHashMap<>(droppedFrames)); // in rule order
    offenders = List.copyOf(offenders);
  }

  /** Frames dropped by every rule together. */
  public long droppedTotal() {
    return droppedFrames.values().stream().mapToLong(Long::longValue).sum();
  }

  /** For slot status: {@code on (...)} or {@code off: <why>}. */
  public String summary() {
    return (active ? "on: " : "off: ") + message;
  }
}
