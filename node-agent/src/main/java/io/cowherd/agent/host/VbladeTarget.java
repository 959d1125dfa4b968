package io.cowherd.agent.host;

import java.nio.file.Path;
import java.util.List;

/**
 * What one exporter serves and how: the four positional arguments of vblade(8), {@code shelf slot
 * netif filename}, and whether writes may be acknowledged from the page cache. {@link
 * Vblade#argv} turns it into the one argv cowherd starts; a process with exactly that argv is the
 * same exporter ({@link VbladeProcess#isExactly}).
 *
 * @param shelf AoE shelf (major), 0 to 65534
 * @param slot AoE slot (minor), 0 to 254
 * @param iface network interface name
 * @param path exported file or block device (a COW device or clone, never the origin)
 * @param writeCache {@code false}: durable, vblade {@code -s} (O_SYNC: a write is on the disk
 *     before it is acknowledged); {@code true}: no {@code -s}, writes are acknowledged from the page
 *     cache (the pool's {@code spec.export.writeCache})
 * @param macs the only senders vblade answers ({@code -m}, lower-case colon form, in order, at most
 *     {@link #MAX_MACS}): the slot's client MACs followed by the node agent's own probing MAC; empty:
 *     every sender
 * @param link the interface vblade binds (its {@code netif} argument): {@code iface} itself, or the
 *     exporter's own macvlan on it ({@link ExporterLinks}); {@code null} means {@code iface}. Claims
 *     ({@link #sameAddress}) are judged on {@code iface}, the segment.
 */
public record VbladeTarget(int shelf, int slot, String iface, Path path, boolean writeCache, List<String> macs,
    String link) {
  /** Most MACs vblade keeps for {@code -m} ({@code Nmacs} = 32 in vblade 25's dat.h). */
  public static final int MAX_MACS = 32;

  /** @throws IllegalArgumentException when {@code macs} holds more than {@link #MAX_MACS} */
  public VbladeTarget {
    macs = List.copyOf(macs);
    link = link == null ? iface : link;
    if (macs.size() > MAX_MACS) {
      throw new IllegalArgumentException("vblade serves at most " + MAX_MACS + " MACs, not " + macs.size());
    }
  }

  /** A target bound to {@code iface} itself. */
  public VbladeTarget(int shelf, int slot, String iface, Path path, boolean writeCache, List<String> macs) {
    this(shelf, slot, iface, path, writeCache, macs, null);
  }

  /** A target served to every sender. */
  public VbladeTarget(int shelf, int slot, String iface, Path path, boolean writeCache) {
    this(shelf, slot, iface, path, writeCache, List.of());
  }

  /** A durable target (no write cache): what every slot gets unless its pool opts in. */
  public VbladeTarget(int shelf, int slot, String iface, Path path) {
    this(shelf, slot, iface, path, false);
  }

  /** Whether vblade binds a link of its own rather than {@link #iface()} itself. */
  public boolean ownLink() {
    return !link.equals(iface);
  }

  /** The same target as seen on NIC {@code nic}, bound to {@link #link()} (a macvlan on {@code nic}). */
  public VbladeTarget onNic(String nic) {
    return new VbladeTarget(shelf, slot, nic, path, writeCache, macs, link);
  }

  /**
   * Whether {@code other} claims the same AoE address on the same interface: the same NIC whatever
   * link each binds, or the same link. The second covers a vblade on a link named like this target's
   * whose NIC cannot be told from here (its link is in another network namespace of this host, or
   * already gone): taken as a claim on this target, as a vblade on a NIC of the same name is.
   */
  public boolean sameAddress(VbladeTarget other) {
    return shelf == other.shelf && slot == other.slot && (iface.equals(other.iface) || link.equals(other.link));
  }

  /** {@code e<shelf>.<slot>} (AoE major.minor notation). */
  public String aoeName() {
    return "e" + shelf + "." + slot;
  }

  @Override
  public String toString() {
    return aoeName() + " on " + (ownLink() ? link + " (macvlan on " + iface + ")" : iface) + " from " + path + (writeCache ? " (write cache)" : "")
        + (macs.isEmpty() ? "" : " for " + String.join(",", macs));
  }
}
