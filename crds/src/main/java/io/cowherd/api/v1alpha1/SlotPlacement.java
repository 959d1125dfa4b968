package io.cowherd.api.v1alpha1;

import java.util.Objects;

/** Where a slot's COW data lives: written by the operator into pool status, kept across operator restarts. */
public class SlotPlacement {
  /** Slot number, 0 to 254. */
  private Integer slot;

  /** Node whose state dir holds (or last held) the slot's COW store; absent right after the slot's data was abandoned. */
  private String nodeName;

  /**
   * UID of the last slot object of this number whose COW data the user abandoned; every slot object
   * the operator creates for this number carries it ({@code cowherd.io/abandoned-store-of}) so the
   * node agent never adopts that store.
   */
  private String abandonedSlotUid;

  /**
   * The image the slot's COW data was built from ({@code spec.image} of its last slot object): a
   * slot object recreated for this number is built on it again, not on a newer pool image, so it
   * adopts its data. Absent: the pool's image.
   */
  private String image;

  /** The rebuild token ({@code spec.rebuild}) of the slot's last slot object, if any. */
  private String rebuild;

  public SlotPlacement() {}

  public SlotPlacement(int slot, String nodeName) {
    this.slot = slot;
    this.nodeName = nodeName;
  }

  public SlotPlacement(int slot, String nodeName, String abandonedSlotUid) {
    this.slot = slot;
    this.nodeName = nodeName;
    this.abandonedSlotUid = abandonedSlotUid;
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

  public String getImage() {
    return image;
  }

  public void setImage(String image) {
    this.image = image;
  }

  public String getRebuild() {
    return rebuild;
  }

  public void setRebuild(String rebuild) {
    this.rebuild = rebuild;
  }

  public String getAbandonedSlotUid() {
    return abandonedSlotUid;
  }

  public void setAbandonedSlotUid(String abandonedSlotUid) {
    this.abandonedSlotUid = abandonedSlotUid;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SlotPlacement p && Objects.equals(slot, p.slot) && Objects.equals(nodeName, p.nodeName)
        && Objects.equals(abandonedSlotUid, p.abandonedSlotUid) && Objects.equals(image, p.image)
        && Objects.equals(rebuild, p.rebuild);
  }

  @Override
  public int hashCode() {
    return Objects.hash(slot, nodeName, abandonedSlotUid);
  }

  @Override
  public String toString() {
    return slot + "@" + nodeName + (abandonedSlotUid == null ? "" : " (abandoned " + abandonedSlotUid + ")");
  }
}
