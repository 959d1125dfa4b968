package io.cowherd.api.v1alpha1;

import java.util.Objects;

/** Where a slot's COW data lives: written by the operator into pool status, kept across operator restarts. */
public class SlotPlacement {
  /** Slot number, 0 to 254. */
  private Integer slot;

  /** Node whose state dir holds (or last held) the slot's COW store. */
  private String nodeName;

  public SlotPlacement() {}

  public SlotPlacement(int slot, String nodeName) {
    this.slot = slot;
    this.nodeName = nodeName;
  }

  public Integer getSlot() {
    return slot;
  }

  public void setSlot(Integer slot) {
    this.slot = slot;
  }

  public String getNodeName() {
    return nodeName;
  }

  public void setNodeName(String nodeName) {
    this.nodeName = nodeName;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SlotPlacement p && Objects.equals(slot, p.slot) && Objects.equals(nodeName, p.nodeName);
  }

  @Override
  public int hashCode() {
    return Objects.hash(slot, nodeName);
  }

  @Override
  public String toString() {
    return slot + "@" + nodeName;
  }
}
