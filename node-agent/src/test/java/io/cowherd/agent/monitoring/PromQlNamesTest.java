package io.cowherd.agent.monitoring;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The tokenizer finds the metric names of a query and nothing else. */
class PromQlNamesTest {
  @Test
  void metricNamesAreFoundNextToBracesRangesAndOperators() {
    assertThat(PromQlNames.of("100 * cowherd_a / cowherd_b{x=\"y\"} > 0.9 and on (slot) cowherd_c[5m] offset 1h"))
        .containsExactly("cowherd_a", "cowherd_b", "cowherd_c");
  }

  @Test
  void functionsAggregationsLabelListsStringsAndVariablesAreNotNames() {
    assertThat(PromQlNames.of("sum by (namespace, pool) (rate(cowherd_x_total{op=\"read\", pool=~\"$pool\"}"
        + "[$__rate_interval])) / ignoring (op) group_left (target) max without (instance) (cowherd_y) "
        + "+ count(up{job=~\"${job}\"} == bool 1) - time() + absent(cowherd_z) * 1e3 > inf"))
        .containsExactly("cowherd_x_total", "cowherd_y", "up", "cowherd_z");
  }

  @Test
  void aLabelMatcherValueThatLooksLikeAMetricIsIgnored() {
    assertThat(PromQlNames.of("cowherd_slots{phase=\"Failed\", x='a}b'} > 0")).containsExactly("cowherd_slots");
  }

  @Test
  void grafanaLabelValuesReadsOnlyItsSelector() {
    assertThat(PromQlNames.ofVariableQuery("label_values(cowherd_q{namespace=~\"$namespace\"}, pool)"))
        .containsExactly("cowherd_q");
    assertThat(PromQlNames.ofVariableQuery("label_values(job)")).isEmpty();
  }

  @Test
  void anUnknownNameIsReportedNotDropped() {
    assertThat(PromQlNames.of("cowherd_made_up_metric > 0")).containsExactly("cowherd_made_up_metric");
  }
}
