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

  /**
   * True when the pool's image ({@code spec.poolImage}) is another file than this origin: the slot
   * serves an older (or newer) origin until it is moved (reset, or {@code OnReboot}).
   */
  private Boolean stale;

  /** Rebuild token ({@code spec.rebuild}) the COW store was built for, if any. */
  private String rebuild;

  public Boolean getStale() {
    return stale;
  }

  public void setStale(Boolean stale) {
    this.stale = stale;
  }

  public String getRebuild() {
    return rebuild;
  }

  public void setRebuild(String rebuild) {
    this.rebuild = rebuild;
  }

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
        && Objects.equals(changed, s.changed) && Objects.equals(currentIdentity, s.currentIdentity)
        && Objects.equals(stale, s.stale) && Objects.equals(rebuild, s.rebuild);
  }

  @Override
  public int hashCode() {
    return Objects.hash(path, identity, changed, currentIdentity, stale, rebuild);
  }
}
