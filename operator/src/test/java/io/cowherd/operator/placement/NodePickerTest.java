package io.cowherd.operator.placement;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.operator.support.Nodes;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NodePickerTest {
  private final NodePicker picker = new NodePicker();
  private final LiveAgents everywhere = LiveAgents.unobserved();

  @Test
  void readySchedulableNodesAreEligibleSortedByName() {
    NodeEligibility eligibility = picker.eligibility(List.of(Nodes.ready("n2"), Nodes.ready("n1")), everywhere);

    assertThat(eligibility.eligible()).containsExactly("n1", "n2");
    assertThat(eligibility.any()).isTrue();
  }

  @Test
  void nodeWithoutReadyTrueIsNotEligible() {
    NodeEligibility eligibility = picker.eligibility(List.of(
        Nodes.notReady("down"), Nodes.node("unknown", "Unknown", false, Map.of()), Nodes.ready("up")), everywhere);

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
    NodeEligibility eligibility = picker.eligibility(List.of(Nodes.unschedulable("cordoned"), Nodes.ready("open")), everywhere);

    assertThat(eligibility.eligible()).containsExactly("open");
    assertThat(eligibility.unschedulable()).containsExactly("cordoned");
  }

  @Test
  void onlyNodesWithALiveAgentAreEligibleWhateverTheirLabels() {
    NodeEligibility eligibility = picker.eligibility(List.of(
        Nodes.ready("agent", Map.of()),
        Nodes.ready("labelled-no-agent", Map.of("cowherd.io/boot-server", "true")),
        Nodes.ready("plain")), LiveAgents.on(List.of("agent")));

    assertThat(eligibility.eligible()).containsExactly("agent");
    assertThat(eligibility.noAgent()).containsExactly("labelled-no-agent", "plain");
  }

  @Test
  void withAgentsUnobservedEveryReadySchedulableNodeCounts() {
    assertThat(picker.eligibility(List.of(Nodes.ready("plain", Map.of())), everywhere).eligible()).containsExactly("plain");
  }

  @Test
  void aLiveAgentDoesNotMakeANotReadyOrCordonedNodeEligible() {
    NodeEligibility eligibility = picker.eligibility(List.of(Nodes.notReady("down"), Nodes.unschedulable("cordoned")),
        LiveAgents.on(List.of("down", "cordoned")));

    assertThat(eligibility.any()).isFalse();
    assertThat(eligibility.notReady()).containsExactly("down");
    assertThat(eligibility.unschedulable()).containsExactly("cordoned");
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
    String text = picker.eligibility(List.of(Nodes.notReady("n1"), Nodes.unschedulable("n2"), Nodes.ready("n3")),
        LiveAgents.on(List.of())).describe();

    assertThat(text).isEqualTo("3 nodes: 1 not Ready (n1), 1 unschedulable (n2), 1 without a live node agent (n3)"
        + " (the agent DaemonSet's node selector, affinity and tolerations decide where agents run)");
  }

  @Test
  void describeWithoutNodes() {
    assertThat(picker.eligibility(List.of(), everywhere).describe()).isEqualTo("no Node objects exist");
  }
}
