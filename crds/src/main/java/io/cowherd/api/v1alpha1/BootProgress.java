package io.cowherd.api.v1alpha1;

/**
 * How far a client's boot got, as the node agents saw it ({@code status.boot} of an {@code
 * AoeBootClient}); written only by node agents (a JSON merge patch of this field alone).
 * Timestamps are RFC 3339 UTC strings.
 */
public class BootProgress {
  /** Latest stage: ScriptServed, Queried, Reading, Writing, Silent. */
  private String stage;
  /** When the stage last changed (Silent: when the silence was noticed, silentAfter after the last request). */
  private String stageSince;
  /** Node whose agent saw the latest stage. */
  private String node;
  /** When a boot endpoint last answered this MAC with its script. */
  private String scriptServedAt;
  /** When an AoE Query Config from this MAC was last seen. */
  private String queriedAt;
  /**
   * When a read request from this MAC was last seen, as of the last stage change the agent serving
   * its slot recorded (written once per stage change, not per request): during a long Reading or
   * Writing it can be old. Whether the client does I/O now is {@link #stage} Reading or Writing.
   */
  private String readingAt;
  /** When a write request from this MAC was last seen, as of the last stage change (as {@link #readingAt}). */
  private String writingAt;
  /**
   * When a boot endpoint last held back this client's script because its slot was stale under
   * {@code updateStrategy: OnReboot}: the operator then rebuilds the slot on the pool's image.
   */
  private String updateRequestedAt;

  public String getUpdateRequestedAt() {
    return updateRequestedAt;
  }

  public void setUpdateRequestedAt(String updateRequestedAt) {
    this.updateRequestedAt = updateRequestedAt;
  }

  public String getStage() {
    return stage;
  }

  public void setStage(String stage) {
    this.stage = stage;
  }

  public String getStageSince() {
    return stageSince;
  }

  public void setStageSince(String stageSince) {
    this.stageSince = stageSince;
  }

  public String getNode() {
    return node;
  }

  public void setNode(String node) {
    this.node = node;
  }

  public String getScriptServedAt() {
    return scriptServedAt;
  }

  public void setScriptServedAt(String scriptServedAt) {
    this.scriptServedAt = scriptServedAt;
  }

  public String getQueriedAt() {
    return queriedAt;
  }

  public void setQueriedAt(String queriedAt) {
    this.queriedAt = queriedAt;
  }

  public String getReadingAt() {
    return readingAt;
  }

  public void setReadingAt(String readingAt) {
    this.readingAt = readingAt;
  }

  public String getWritingAt() {
    return writingAt;
  }

  public void setWritingAt(String writingAt) {
    this.writingAt = writingAt;
  }
}
