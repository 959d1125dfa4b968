package io.cowherd.agent.inventory;

import io.cowherd.agent.backend.OriginStamp;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.SlotId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * COW stores in the state dir that no slot object claims: left by a deletion while the agent was
 * down, by a scale-down or pool deletion under reclaim policy {@code Retain}, by a pool deletion
 * while this node was gone, or by hand. They are reported, never removed: only a slot deleted with
 * the operator's reclaim mark {@code Delete} removes data ({@link io.cowherd.api.SlotReclaim}).
 */
public final class UnclaimedStores {
  /** {@code slot-<n>.img} (reflink clone) or {@code slot-<n>.cow} (dm-snapshot COW file). */
  private static final Pattern STORE = Pattern.compile("slot-(\\d{1,3})\\.(img|cow)");
  /** A store moved aside: {@code slot-<n>.(img|cow).abandoned-<timestamp>} (not its {@code .origin} stamp). */
  private static final Pattern MOVED_ASIDE =
      Pattern.compile("slot-(\\d{1,3})\\.(img|cow)" + Pattern.quote(OriginStamp.ABANDONED_INFIX) + "[0-9TZ-]+");

  private UnclaimedStores() {}

  /**
   * One COW store no slot claims.
   *
   * @param id the slot the path names ({@code <stateDir>/<namespace>/<pool>/slot-<n>.*})
   * @param path the store file
   * @param sizeBytes its apparent size in bytes (a sparse COW file may use less disk)
   */
  public record UnclaimedStore(SlotId id, Path path, long sizeBytes) {}

  /**
   * The stores among {@code cowStores} whose slot is not in {@code claimed}, in a namespace this
   * agent watches. Paths that do not name a slot are skipped; a file that vanished counts 0 bytes.
   *
   * @param cowStores store files found under the state dir ({@link HostInventory#scan()})
   * @param claimed slot identities of the slot objects on this node
   * @param watched whether this agent watches a namespace (stores of others are not its business)
   */
  public static List<UnclaimedStore> find(HostNames names, Collection<Path> cowStores, Set<SlotId> claimed,
      Predicate<String> watched) {
    List<UnclaimedStore> out = new ArrayList<>();
    for (Path path : cowStores) {
      Optional<SlotId> id = slotOf(names, path);
      boolean movedAside = isMovedAside(path.getFileName().toString());
      if (id.isEmpty() || (claimed.contains(id.get()) && !movedAside) || !watched.test(id.get().namespace())) {
        continue;
      }
      out.add(new UnclaimedStore(id.get(), path, size(path)));
    }
    return out;
  }

  /** True when {@code fileName} is a COW store moved aside after its slot's data was abandoned. */
  public static boolean isMovedAside(String fileName) {
    return MOVED_ASIDE.matcher(fileName).matches();
  }

  /** The slot a store path names, if it has the shape {@code <stateDir>/<ns>/<pool>/slot-<n>.(img|cow)}. */
  static Optional<SlotId> slotOf(HostNames names, Path path) {
    Path relative = names.stateDir().relativize(path);
    if (relative.getNameCount() != 3) {
      return Optional.empty();
    }
    String file = relative.getName(2).toString();
    Matcher m = STORE.matcher(file);
    if (!m.matches()) {
      m = MOVED_ASIDE.matcher(file);
    }
    if (!m.matches()) {
      return Optional.empty();
    }
    try {
      return Optional.of(new SlotId(relative.getName(0).toString(), relative.getName(1).toString(),
          Integer.parseInt(m.group(1))));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private static long size(Path path) {
    try {
      return Files.size(path);
    } catch (IOException e) {
      return 0;
    }
  }
}
