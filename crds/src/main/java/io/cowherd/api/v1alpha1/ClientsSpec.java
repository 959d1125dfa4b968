package io.cowherd.api.v1alpha1;

import io.cowherd.api.MacAddress;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A pool's client settings ({@code spec.clients}): how MACs are enrolled and whether each slot's
 * exporter serves only its client. May change on a live pool.
 */
public class ClientsSpec {
  /** Default of {@link #enrollmentsPerMinute}. */
  public static final int DEFAULT_ENROLLMENTS_PER_MINUTE = 10;

  /** {@code Manual} (default): only user-made AoeBootClients; {@code Automatic}: unknown MACs are enrolled. */
  @Default("Manual")
  private ClientEnrollment enrollment = ClientEnrollment.Manual;

  /**
   * Automatic enrollment takes only MACs starting with one of these prefixes (colon form, 1 to 6
   * octets, e.g. {@code 52:54:00}); empty or unset: any unicast MAC.
   */
  @Size(max = 64)
  private List<@Pattern(MacAddress.PREFIX_PATTERN) String> macPrefixes = new ArrayList<>();

  /**
   * Most automatically enrolled clients the operator assigns a slot per minute, pool-wide (1 to
   * 1000, default 10); the others wait unassigned (condition Assigned=False, reason RateLimited).
   * Also the most enrollments each node agent creates per minute for this pool.
   */
  @Default("10")
  @Min(1)
  @Max(1000)
  private Integer enrollmentsPerMinute = DEFAULT_ENROLLMENTS_PER_MINUTE;

  /**
   * {@code true} (default): a slot with a client is served only to its client's MAC (and the node
   * agent's own, for its probes): vblade {@code -m}. {@code false}: any host on the segment.
   */
  @Default("true")
  private Boolean binding = true;

  public ClientEnrollment getEnrollment() {
    return enrollment;
  }

  public void setEnrollment(ClientEnrollment enrollment) {
    this.enrollment = enrollment;
  }

  public List<String> getMacPrefixes() {
    return macPrefixes;
  }

  public void setMacPrefixes(List<String> macPrefixes) {
    this.macPrefixes = macPrefixes;
  }

  public Integer getEnrollmentsPerMinute() {
    return enrollmentsPerMinute;
  }

  public void setEnrollmentsPerMinute(Integer enrollmentsPerMinute) {
    this.enrollmentsPerMinute = enrollmentsPerMinute;
  }

  public Boolean getBinding() {
    return binding;
  }

  public void setBinding(Boolean binding) {
    this.binding = binding;
  }

  /** Whether unknown MACs are enrolled; false when unset. */
  public boolean automatic() {
    return enrollment == ClientEnrollment.Automatic;
  }

  /** Enrollments per minute, {@link #DEFAULT_ENROLLMENTS_PER_MINUTE} when unset. */
  public int enrollmentsPerMinuteOrDefault() {
    return enrollmentsPerMinute == null ? DEFAULT_ENROLLMENTS_PER_MINUTE : enrollmentsPerMinute;
  }

  /** Whether exporters are bound to their client's MAC; true when unset. */
  public boolean bindingOrDefault() {
    return !Boolean.FALSE.equals(binding);
  }

  /** Whether automatic enrollment may take {@code mac}: no prefix list, or one of its prefixes matches. */
  public boolean admits(MacAddress mac) {
    return macPrefixes == null || macPrefixes.isEmpty() || macPrefixes.stream().anyMatch(mac::hasPrefix);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ClientsSpec c && enrollment == c.enrollment && Objects.equals(macPrefixes, c.macPrefixes)
        && Objects.equals(enrollmentsPerMinute, c.enrollmentsPerMinute) && Objects.equals(binding, c.binding);
  }

  @Override
  public int hashCode() {
    return Objects.hash(enrollment, macPrefixes, enrollmentsPerMinute, binding);
  }
}
