package io.cowherd.api.v1alpha1;

import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * A client's assignment and boot progress. The operator writes everything but {@code boot}, with
 * optimistic concurrency (an update carrying the resourceVersion it read); node agents write only
 * {@code boot}.
 */
public class AoeBootClientStatus {
  /** The client generation this status describes. */
  private Long observedGeneration;
  /** Assigned slot, kept for good (reboots, restarts, scale-up); unset when unassigned. */
  private Integer slot;
  /** Assigned target, {@code e<shelf>.<slot>}; unset when unassigned. */
  private String target;
  /** Lower-case MAC the assignment was made for. */
  private String mac;
  /** When the slot was assigned (RFC 3339). */
  private String assignedAt;
  /** Conditions: Assigned (reasons Assigned, Pinned, PoolFull, RateLimited, DuplicateMac, SlotTaken, SlotOutOfRange, PoolMissing, SlotRemoved). */
  private List<Condition> conditions = new ArrayList<>();
  /** Boot progress seen by node agents. */
  private BootProgress boot;

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }

  public Integer getSlot() {
    return slot;
  }

  public void setSlot(Integer slot) {
    this.slot = slot;
  }

  public String getTarget() {
    return target;
  }

  public void setTarget(String target) {
    this.target = target;
  }

  public String getMac() {
    return mac;
  }

  public void setMac(String mac) {
    this.mac = mac;
  }

  public String getAssignedAt() {
    return assignedAt;
  }

  public void setAssignedAt(String assignedAt) {
    this.assignedAt = assignedAt;
  }

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions;
  }

  public BootProgress getBoot() {
    return boot;
  }

  public void setBoot(BootProgress boot) {
    this.boot = boot;
  }
}
