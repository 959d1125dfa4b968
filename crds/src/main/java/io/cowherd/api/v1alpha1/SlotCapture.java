package io.cowherd.api.v1alpha1;

import java.util.Objects;

/**
 * The outcome of the latest capture of a slot's disk into a new origin file ({@code
 * status.capture}; asked by {@code spec.capture}). Written only by the slot's node agent.
 */
public class SlotCapture {
  /** {@link #result} of a capture that wrote its file. */
  public static final String CAPTURED = "Captured";
  /** {@link #result} of a capture that wrote nothing (see {@link #message}). */
  public static final String FAILED = "Failed";

  /** The file asked for ({@code spec.capture} when the agent acted on it). */
  private String path;
  /** {@code Captured} or {@code Failed}. */
  private String result;
  /** What was done, or why nothing was. */
  private String message;
  /** Identity of the new file (dev, ino, size in bytes, ctime), as in {@code status.origin.identity}. */
  private String identity;
  /** Size of the new file in bytes (the slot's disk size). */
  private Long sizeBytes;
  /** How long the copy took, in milliseconds. */
  private Long durationMillis;
  /** When the agent finished, RFC 3339 UTC. */
  private String finishedAt;

  public SlotCapture() {}

  public SlotCapture(String path, String result, String message) {
    this.path = path;
    this.result = result;
    this.message = message;
  }

  public String getPath() {
    return path;
  }

  public void setPath(String path) {
    this.path = path;
  }

  public String getResult() {
    return result;
  }

  public void setResult(String result) {
    this.result = result;
  }

  public String getMessage() {
    return message;
  }

  public void setMessage(String message) {
    this.message = message;
  }

  public String getIdentity() {
    return identity;
  }

  public void setIdentity(String identity) {
    this.identity = identity;
  }

  public Long getSizeBytes() {
    return sizeBytes;
  }

  public void setSizeBytes(Long sizeBytes) {
    this.sizeBytes = sizeBytes;
  }

  public Long getDurationMillis() {
    return durationMillis;
  }

  public void setDurationMillis(Long durationMillis) {
    this.durationMillis = durationMillis;
  }

  public String getFinishedAt() {
    return finishedAt;
  }

  public void setFinishedAt(String finishedAt) {
    this.finishedAt = finishedAt;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SlotCapture c && Objects.equals(path, c.path) && Objects.equals(result, c.result)
        && Objects.equals(message, c.message) && Objects.equals(identity, c.identity)
        && Objects.equals(sizeBytes, c.sizeBytes) && Objects.equals(durationMillis, c.durationMillis)
        && Objects.equals(finishedAt, c.finishedAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(path, result, identity);
  }
}
