package io.cowherd.agent.host;

import java.nio.file.Path;

/**
 * What one exporter serves: the four positional arguments of vblade(8), {@code shelf slot netif
 * filename}. Two processes with equal targets and no options are the same exporter.
 *
 * @param shelf AoE shelf (major), 0 to 65534
 * @param slot AoE slot (minor), 0 to 254
 * @param iface network interface name
 * @param path exported file or block device (a COW device or clone, never the origin)
 */
public record VbladeTarget(int shelf, int slot, String iface, Path path) {
  /** Whether {@code other} claims the same AoE address on the same interface. */
  public boolean sameAddress(VbladeTarget other) {
    return shelf == other.shelf && slot == other.slot && iface.equals(other.iface);
  }

  /** {@code e<shelf>.<slot>} (AoE major.minor notation). */
  public String aoeName() {
    return "e" + shelf + "." + slot;
  }

  @Override
  public String toString() {
    return aoeName() + " on " + iface + " from " + path;
  }
}
