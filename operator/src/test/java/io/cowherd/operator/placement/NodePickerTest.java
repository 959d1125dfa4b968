package io.cowherd.operator.placement;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.operator.support.Nodes;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NodePickerTest {
  private final NodePicker anyNode = new NodePicker(Map.of());

  @Test
  void readySchedulableNodesAreEligibleSortedByName() {
    NodeEligibility eligibility = anyNode.eligibility(List.of(Nodes.ready("n2"), Nodes.ready("n1")));

    assertThat(eligibility.eligible()).containsExactly("n1", "n2");
    assertThat(eligibility.any()).isTrue();
  }

  @Test
  void nodeWithoutReadyTrueIsNotEligible() {
    NodeEligibility eligibility = anyNode.eligibility(List.of(
        Nodes.notReady("down"), Nodes.node("unknown", "Unknown", false, Map.of()), Nodes.ready("up")));

    assertThat(eligibility.eligible()).containsExactly("up");
    assertThat(eligibility.notReady()).containsExactly("down", "unknown");
  }

  @Test
  void nodeWithoutConditionsIsNotReady() {
    var bare = new io.fabric8.kubernetes.api.model.NodeBuilder().withNewMetadata().withName("bare").endMetadata().build();

    assertThat(NodePicker.isReady(bare)).isFalse();
  }

  @Test
  void unschedulableNodeIsNotEligible() {
    NodeEligibility eligibility = anyNode.eligibility(List.of(Nodes.unschedulable("cordoned"), Nodes.ready("open")));

    assertThat(eligibility.eligible()).containsExactly("open");
    assertThat(eligibility.unschedulable()).containsExactly("cordoned");
  }

  @Test
  void agentNodeSelectorKeepsOnlyNodesWithAllItsLabels() {
    NodePicker picker = new NodePicker(Map.of("cowherd.io/agent", "true", "zone", "a"));

    NodeEligibility eligibility = picker.eligibility(List.of(
        Nodes.ready("both", Map.of("cowherd.io/agent", "true", "zone", "a", "extra", "x")),
        Nodes.ready("one", Map.of("cowherd.io/agent", "true")),
        Nodes.ready("wrong-value", Map.of("cowherd.io/agent", "false", "zone", "a")),
        Nodes.ready("none")));

    assertThat(eligibility.eligible()).containsExactly("both");
    assertThat(eligibility.notSelected()).containsExactly("none", "one", "wrong-value");
  }

  @Test
  void emptySelectorMatchesEveryNode() {
    assertThat(anyNode.eligibility(List.of(Nodes.ready("plain", Map.of()))).eligible()).containsExactly("plain");
  }

  @Test
  void pickChoosesNodeWithFewestSlots() {
    assertThat(NodePicker.pick(List.of("n1", "n2", "n3"), Map.of("n1", 4, "n2", 1, "n3", 2))).contains("n2");
  }

  @Test
  void pickBreaksTiesByNodeName() {
    assertThat(NodePicker.pick(List.of("n3", "n2", "n1"), Map.of("n1", 1, "n2", 0, "n3", 0))).contains("n2");
  }

  @Test
  void pickCountsMissingNodesAsEmpty() {
    assertThat(NodePicker.pick(List.of("busy", "fresh"), Map.of("busy", 1))).contains("fresh");
  }

  @Test
  void pickWithoutEligibleNodesGivesNothing() {
    assertThat(NodePicker.pick(List.of(), Map.of())).isEmpty();
  }

  @Test
  void describeSaysWhyNoNodeIsEligible() {
    NodePicker picker = new NodePicker(Map.of("role", "boot"));

    String text = picker.eligibility(List.of(Nodes.notReady("n1"), Nodes.unschedulable("n2"), Nodes.ready("n3"))).describe();

    assertThat(text).isEqualTo("3 nodes: 1 not Ready (n1), 1 unschedulable (n2), 1 not matching agent node selector role=boot (n3)");
  }

  @Test
  void describeWithoutNodes() {
    assertThat(anyNode.eligibility(List.of()).describe()).isEqualTo("no Node objects exist");
  }
}
