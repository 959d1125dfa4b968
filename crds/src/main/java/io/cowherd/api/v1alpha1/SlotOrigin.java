package io.cowherd.api.v1alpha1;

import java.util.Objects;

/**
 * The origin a slot serves, written by the node agent: the origin file's real path and the
 * identity it had when the slot's COW store was made ({@code dev=<st_dev> ino=<st_ino>
 * size=<bytes> ctime=<seconds>.<nanoseconds>}, from stat(2); ctime changes on every write,
 * truncate or attribute change and cannot be set from user space). {@code changed} is true when
 * the file at {@code path} no longer has that identity (written in place, truncated, replaced).
 */
public class SlotOrigin {
  /** Real path of the origin file the slot's COW store was made from. */
  private String path;

  /** Identity of the origin when the COW store was made: dev, ino, size (bytes), ctime. */
  private String identity;

  /** True when the origin no longer has that identity: it changed under the slot. */
  private Boolean changed;

  /** Identity of the file at path now, shown only when it differs from identity. */
  private String currentIdentity;

  public SlotOrigin() {}

  public SlotOrigin(String path, String identity, boolean changed, String currentIdentity) {
    this.path = path;
    this.identity = identity;
    this.changed = changed;
    this.currentIdentity = currentIdentity;
  }

  public String getPath() {
    return path;
  }

  public void setPath(String path) {
    this.path = path;
  }

  public String getIdentity() {
    return identity;
  }

  public void setIdentity(String identity) {
    this.identity = identity;
  }

  public Boolean getChanged() {
    return changed;
  }

  public void setChanged(Boolean changed) {
    this.changed = changed;
  }

  public String getCurrentIdentity() {
    return currentIdentity;
  }

  public void setCurrentIdentity(String currentIdentity) {
    this.currentIdentity = currentIdentity;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SlotOrigin s && Objects.equals(path, s.path) && Objects.equals(identity, s.identity)
        && Objects.equals(changed, s.changed) && Objects.equals(currentIdentity, s.currentIdentity);
  }

  @Override
  public int hashCode() {
    return Objects.hash(path, identity, changed, currentIdentity);
  }
}
