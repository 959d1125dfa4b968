package io.cowherd.api.v1alpha1;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.model.annotation.LabelSelector;
import io.fabric8.kubernetes.model.annotation.StatusReplicas;
import java.util.ArrayList;
import java.util.List;

/** Last observed state of a pool; written only by the operator. */
public class AoeBootPoolStatus {
  /** The pool generation this status describes. */
  private Long observedGeneration;

  /** Number of slot objects that exist for this pool. */
  @StatusReplicas
  private Integer replicas;

  /** Number of slots whose target is being served (phase Serving). */
  private Integer readyReplicas;

  /**
   * Number of slots whose agent reports them serving the pool's current image (not stale; the
   * rebuild the operator asked for done).
   */
  private Integer updatedReplicas;

  /** Number of slots still built from another image than the pool's (moved by a reset or OnReboot). */
  private Integer staleReplicas;

  public Integer getUpdatedReplicas() {
    return updatedReplicas;
  }

  public void setUpdatedReplicas(Integer updatedReplicas) {
    this.updatedReplicas = updatedReplicas;
  }

  public Integer getStaleReplicas() {
    return staleReplicas;
  }

  public void setStaleReplicas(Integer staleReplicas) {
    this.staleReplicas = staleReplicas;
  }

  /** Label selector (string form) matching this pool's slots; used by the scale subresource. */
  @LabelSelector
  private String selector;

  /** Conditions: Ready, Progressing, Degraded, Conflict. */
  private List<Condition> conditions = new ArrayList<>();

  /**
   * The node of every slot whose COW data may still exist, ascending by slot: a slot object that is
   * deleted and recreated goes back to this node. Written only by the operator.
   */
  private List<SlotPlacement> placements = new ArrayList<>();

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }

  public Integer getReplicas() {
    return replicas;
  }

  public void setReplicas(Integer replicas) {
    this.replicas = replicas;
  }

  public Integer getReadyReplicas() {
    return readyReplicas;
  }

  public void setReadyReplicas(Integer readyReplicas) {
    this.readyReplicas = readyReplicas;
  }

  public String getSelector() {
    return selector;
  }

  public void setSelector(String selector) {
    this.selector = selector;
  }

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions;
  }

  public List<SlotPlacement> getPlacements() {
    return placements;
  }

  public void setPlacements(List<SlotPlacement> placements) {
    this.placements = placements;
  }
}
