package io.cowherd.agent.host;

import java.util.regex.Pattern;

/**
 * Identity of one slot on a node: namespace, pool and slot number. Host object names derive from
 * it alone (never from mutable spec fields), so adoption after a restart finds what creation made.
 *
 * @param namespace Kubernetes namespace of the slot (a DNS label)
 * @param pool pool name (a DNS subdomain)
 * @param slot AoE slot number, 0 to 254
 */
public record SlotId(String namespace, String pool, int slot) {
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");

  /**
   * @throws IllegalArgumentException if a name could escape its directory (not a DNS name) or the
   *     slot is out of range
   */
  public SlotId {
    if (namespace == null || !DNS_LABEL.matcher(namespace).matches()) {
      throw new IllegalArgumentException("namespace is not a DNS label: " + namespace);
    }
    if (pool == null || !DNS_SUBDOMAIN.matcher(pool).matches() || pool.contains("..")) {
      throw new IllegalArgumentException("pool is not a DNS subdomain: " + pool);
    }
    if (slot < 0 || slot > 254) {
      throw new IllegalArgumentException("slot must be 0 to 254: " + slot);
    }
  }

  @Override
  public String toString() {
    return namespace + "/" + pool + "/" + slot;
  }
}
