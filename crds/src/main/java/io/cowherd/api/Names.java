package io.cowherd.api;

import io.cowherd.api.v1alpha1.AoeBootPool;
import java.util.Map;

/**
 * Names and labels shared by operator and node agent. Pure functions; the single source of slot
 * names, target names, labels and the finalizer.
 */
public final class Names {
  /** Label on a slot naming its pool. */
  public static final String POOL_LABEL = AoeBootPool.GROUP + "/pool";
  /** Label on a slot naming its node; the agent watches only slots with its own node here. */
  public static final String NODE_LABEL = AoeBootPool.GROUP + "/node";
  /** Label on a slot giving its slot number. */
  public static final String SLOT_LABEL = AoeBootPool.GROUP + "/slot";
  /** Label marking objects managed by cowherd. */
  public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
  /** Value of {@link #MANAGED_BY_LABEL}. */
  public static final String MANAGED_BY = "cowherd";
  /** Finalizer the node agent puts on each slot until its host objects are gone. */
  public static final String SLOT_FINALIZER = AoeBootPool.GROUP + "/host-cleanup";

  /** Prefix of each node agent's heartbeat Lease name: {@code cowherd-agent-<node>}. */
  public static final String AGENT_LEASE_PREFIX = "cowherd-agent-";
  /** Label on each node agent's heartbeat Lease marking it as one (value {@link #AGENT_LEASE_COMPONENT}). */
  public static final String COMPONENT_LABEL = "app.kubernetes.io/component";
  /** Value of {@link #COMPONENT_LABEL} on the node agents' heartbeat Leases. */
  public static final String AGENT_LEASE_COMPONENT = "node-agent-heartbeat";
  /** Longest object name (DNS subdomain, RFC 1123), in characters. */
  private static final int MAX_NAME_CHARS = 253;

  private Names() {}

  /**
   * Name of the heartbeat Lease of the node agent on {@code node}: {@code cowherd-agent-<node>}, or,
   * when that exceeds 253 characters, the node name cut short and followed by {@code -} and 8 hex
   * digits of its SHA-256 (the Lease's {@code spec.holderIdentity} always holds the full node name).
   */
  public static String agentLeaseName(String node) {
    String name = AGENT_LEASE_PREFIX + node;
    if (name.length() <= MAX_NAME_CHARS) {
      return name;
    }
    try {
      byte[] hash = java.security.MessageDigest.getInstance("SHA-256")
          .digest(node.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      String suffix = "-" + java.util.HexFormat.of().formatHex(hash, 0, 4);
      String cut = node.substring(0, MAX_NAME_CHARS - AGENT_LEASE_PREFIX.length() - suffix.length());
      while (cut.endsWith("-") || cut.endsWith(".")) {
        cut = cut.substring(0, cut.length() - 1);
      }
      return AGENT_LEASE_PREFIX + cut + suffix;
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    }
  }

  /** Labels on every node agent heartbeat Lease. */
  public static Map<String, String> agentLeaseLabels() {
    return Map.of(MANAGED_BY_LABEL, MANAGED_BY, COMPONENT_LABEL, AGENT_LEASE_COMPONENT);
  }

  /** Prefix of the name of an AoeBootClient a node agent enrols: {@code mac-<12 hex digits>}. */
  public static final String CLIENT_NAME_PREFIX = "mac-";
  /** Label on an AoeBootClient a node agent enrolled, naming the node (value: node name, or a hash if too long). */
  public static final String ENROLLED_BY_LABEL = AoeBootPool.GROUP + "/enrolled-by";

  /**
   * Name of the AoeBootClient a node agent enrols for {@code mac}: {@code mac-<12 hex digits>}. One
   * MAC has one such name per namespace, so two simultaneous enrollments of it collide (409).
   */
  public static String clientName(MacAddress mac) {
    return CLIENT_NAME_PREFIX + mac.hex();
  }

  /** Slot object name: {@code <pool>-<slot>}. */
  public static String slotName(String pool, int slot) {
    return pool + "-" + slot;
  }

  /** Target name in AoE notation: {@code e<shelf>.<slot>} (AoE spec rev 11, 3.1: major.minor). */
  public static String target(int shelf, int slot) {
    return "e" + shelf + "." + slot;
  }

  /** Labels on every slot of {@code pool} placed on {@code node}. */
  public static Map<String, String> slotLabels(String pool, int slot, String node) {
    return Map.of(
        POOL_LABEL, pool,
        SLOT_LABEL, Integer.toString(slot),
        NODE_LABEL, node,
        MANAGED_BY_LABEL, MANAGED_BY);
  }

  /** Label selector string matching every slot of {@code pool}. */
  public static String poolSelector(String pool) {
    return POOL_LABEL + "=" + pool;
  }
}
