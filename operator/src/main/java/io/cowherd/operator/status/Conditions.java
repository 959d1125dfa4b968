package io.cowherd.operator.status;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** Pure helpers for Kubernetes-style conditions. */
public final class Conditions {
  private Conditions() {}

  /** Builds a condition; {@code lastTransitionTime} is {@code now} (seconds, RFC 3339). */
  public static Condition of(String type, boolean status, String reason, String message, long generation, Instant now) {
    return new ConditionBuilder()
        .withType(type)
        .withStatus(status ? "True" : "False")
        .withReason(reason)
        .withMessage(message)
        .withObservedGeneration(generation)
        .withLastTransitionTime(timestamp(now))
        .build();
  }

  /** The condition of {@code type} in {@code conditions}, if any. */
  public static Optional<Condition> find(List<Condition> conditions, String type) {
    return conditions == null
        ? Optional.empty()
        : conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  /** True when the condition of {@code type} exists with status {@code True}. */
  public static boolean isTrue(List<Condition> conditions, String type) {
    return find(conditions, type).map(c -> "True".equals(c.getStatus())).orElse(false);
  }

  /**
   * Returns {@code desired} with each condition's {@code lastTransitionTime} taken from {@code
   * previous} when the condition of that type kept its status.
   */
  public static List<Condition> keepTransitionTimes(List<Condition> previous, List<Condition> desired) {
    List<Condition> merged = new ArrayList<>(desired.size());
    for (Condition next : desired) {
      Optional<Condition> before = find(previous, next.getType());
      if (before.isPresent() && Objects.equals(before.get().getStatus(), next.getStatus())
          && before.get().getLastTransitionTime() != null) {
        merged.add(new ConditionBuilder(next).withLastTransitionTime(before.get().getLastTransitionTime()).build());
      } else {
        merged.add(next);
      }
    }
    return merged;
  }

  /** True when both lists hold the same conditions (all fields), in any order. */
  public static boolean same(List<Condition> a, List<Condition> b) {
    List<Condition> left = a == null ? List.of() : a;
    List<Condition> right = b == null ? List.of() : b;
    if (left.size() != right.size()) {
      return false;
    }
    for (Condition l : left) {
      Optional<Condition> r = find(right, l.getType());
      if (r.isEmpty() || !sameFields(l, r.get())) {
        return false;
      }
    }
    return true;
  }

  private static boolean sameFields(Condition a, Condition b) {
    return Objects.equals(a.getType(), b.getType())
        && Objects.equals(a.getStatus(), b.getStatus())
        && Objects.equals(a.getReason(), b.getReason())
        && Objects.equals(a.getMessage(), b.getMessage())
        && Objects.equals(a.getObservedGeneration(), b.getObservedGeneration())
        && Objects.equals(a.getLastTransitionTime(), b.getLastTransitionTime());
  }

  /** RFC 3339 timestamp in whole seconds, as Kubernetes writes {@code metav1.Time}. */
  public static String timestamp(Instant instant) {
    return instant.truncatedTo(ChronoUnit.SECONDS).toString();
  }
}
