package io.cowherd.operator.conflict;

import io.cowherd.api.Names;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Outcome of the target conflict check for one pool.
 *
 * @param shelf the pool's shelf
 * @param blocked slot numbers the pool must not create or change, each with the pool that keeps it,
 *     in ascending slot order
 */
public record ConflictReport(int shelf, SortedMap<Integer, Rival> blocked) {
  /** Copies the map so the record stays immutable. */
  public ConflictReport {
    blocked = Collections.unmodifiableSortedMap(new TreeMap<>(blocked));
  }

  /** A report without conflicts. */
  public static ConflictReport none(int shelf) {
    return new ConflictReport(shelf, new TreeMap<>());
  }

  /** True when at least one target is kept by another pool. */
  public boolean any() {
    return !blocked.isEmpty();
  }

  /** True when slot number {@code slot} is kept by another pool. */
  public boolean isBlocked(int slot) {
    return blocked.containsKey(slot);
  }

  /**
   * Message naming the targets and the other pools, e.g. {@code "targets e7.0, e7.1 are served by
   * an existing slot of pool ns/a; target e7.2 is claimed by older pool ns/b"}; empty when none.
   */
  public String message() {
    Map<Rival, List<Integer>> byRival = new LinkedHashMap<>();
    blocked.forEach((slot, rival) -> byRival.computeIfAbsent(rival, r -> new ArrayList<>()).add(slot));
    return byRival.entrySet().stream()
        .map(e -> {
          List<Integer> slots = e.getValue();
          String targets = slots.stream().map(s -> Names.target(shelf, s)).collect(Collectors.joining(", "));
          return (slots.size() == 1 ? "target " + targets + " is " : "targets " + targets + " are ")
              + e.getKey().describe();
        })
        .collect(Collectors.joining("; "));
  }
}
