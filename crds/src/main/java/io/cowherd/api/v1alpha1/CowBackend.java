package io.cowherd.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** The mechanism that gives each slot its own writable layer over the read-only origin. */
public enum CowBackend {
  /** Origin loop + sparse COW file on a loop device + device-mapper {@code snapshot} target. */
  @JsonProperty("dm-snapshot")
  DM_SNAPSHOT("dm-snapshot"),
  /** A reflink (FICLONE) clone of the origin on a btrfs or XFS state dir; vblade serves the file. */
  @JsonProperty("reflink")
  REFLINK("reflink");

  private final String wireName;

  CowBackend(String wireName) {
    this.wireName = wireName;
  }

  /** The name used in YAML ({@code dm-snapshot}, {@code reflink}). */
  public String wireName() {
    return wireName;
  }

  @Override
  public String toString() {
    return wireName;
  }
}
