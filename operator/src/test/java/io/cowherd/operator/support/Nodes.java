package io.cowherd.operator.support;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import java.util.Map;

/** Test Node objects. */
public final class Nodes {
  private Nodes() {}

  /** A schedulable Node with Ready=True and {@code labels}. */
  public static Node ready(String name, Map<String, String> labels) {
    return node(name, "True", false, labels);
  }

  /** A schedulable Node with Ready=True and no labels. */
  public static Node ready(String name) {
    return ready(name, Map.of());
  }

  /** A Node with Ready=False. */
  public static Node notReady(String name) {
    return node(name, "False", false, Map.of());
  }

  /** A Ready Node with {@code spec.unschedulable: true}. */
  public static Node unschedulable(String name) {
    return node(name, "True", true, Map.of());
  }

  /** A Node with the given Ready status ({@code True}, {@code False}, {@code Unknown}). */
  public static Node node(String name, String ready, boolean unschedulable, Map<String, String> labels) {
    return new NodeBuilder()
        .withNewMetadata().withName(name).withLabels(labels).endMetadata()
        .withNewSpec().withUnschedulable(unschedulable ? Boolean.TRUE : null).endSpec()
        .withNewStatus()
        .addNewCondition().withType("Ready").withStatus(ready).withReason("Test").endCondition()
        .endStatus()
        .build();
  }
}
