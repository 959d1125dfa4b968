package io.cowherd.api.v1alpha1;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.time.Duration;
import java.util.regex.Matcher;

/**
 * Paced moves of idle clients ({@code spec.idleUpdate} of a pool; unset: off): besides its {@code
 * updateStrategy}, the operator moves a stale slot to the pool's image once its client has been
 * silent on the wire for {@link #silentFor} (no read, write or AoE query seen by a node agent), at
 * most {@link #maxUnavailable} slots of the pool rebuilding at once. A client never seen on the
 * wire is never moved this way. May change.
 */
public class IdleUpdateSpec {
  /** Pattern of {@link #silentFor}: hours, minutes, seconds in that order, as in {@code 1h30m}. */
  public static final String DURATION_PATTERN = "^([0-9]{1,4}h)?([0-9]{1,4}m)?([0-9]{1,6}s)?$";
  private static final java.util.regex.Pattern DURATION = java.util.regex.Pattern.compile(DURATION_PATTERN);

  /**
   * How long a client must have been silent before its stale slot is moved: a duration such as
   * {@code 90s}, {@code 30m} or {@code 1h30m}, at least {@code 60s} (a client counts as doing I/O
   * for 60 s after its last read or write).
   */
  @Required
  @Size(min = 2, max = 20)
  @Pattern(DURATION_PATTERN)
  @ValidationRule(value = "self != '' && duration(self) >= duration('60s')",
      message = "silentFor must be a duration of at least 60s, e.g. 30m")
  private String silentFor;

  /** Most slots of the pool rebuilding at once (moved by any cause, not yet reported done), 1 to 255; default 1. */
  @Default("1")
  @Min(1)
  @Max(255)
  private Integer maxUnavailable = 1;

  public IdleUpdateSpec() {}

  /** A pacing of {@code silentFor} (e.g. {@code 30m}) with {@code maxUnavailable} slots at once. */
  public IdleUpdateSpec(String silentFor, Integer maxUnavailable) {
    this.silentFor = silentFor;
    this.maxUnavailable = maxUnavailable;
  }

  public String getSilentFor() {
    return silentFor;
  }

  public void setSilentFor(String silentFor) {
    this.silentFor = silentFor;
  }

  public Integer getMaxUnavailable() {
    return maxUnavailable;
  }

  public void setMaxUnavailable(Integer maxUnavailable) {
    this.maxUnavailable = maxUnavailable;
  }

  /** {@link #maxUnavailable}, 1 when unset. */
  public int maxUnavailableOrDefault() {
    return maxUnavailable == null ? 1 : maxUnavailable;
  }

  /**
   * {@link #silentFor} as a duration.
   *
   * @throws IllegalArgumentException when it does not match {@link #DURATION_PATTERN} or is empty
   *     (admission refuses both)
   */
  public Duration silentForDuration() {
    Matcher m = silentFor == null ? null : DURATION.matcher(silentFor);
    if (m == null || silentFor.isEmpty() || !m.matches()) {
      throw new IllegalArgumentException("idleUpdate.silentFor '" + silentFor + "' is not a duration such as 30m");
    }
    return Duration.ofHours(part(m.group(1))).plusMinutes(part(m.group(2))).plusSeconds(part(m.group(3)));
  }

  private static long part(String group) {
    return group == null ? 0 : Long.parseLong(group.substring(0, group.length() - 1));
  }
}
