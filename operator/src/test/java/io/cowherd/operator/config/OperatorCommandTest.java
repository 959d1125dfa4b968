package io.cowherd.operator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.ParameterException;

class OperatorCommandTest {
  @Test
  void defaultsWatchAllNamespacesAndEveryNode() {
    OperatorConfig config = OperatorCommand.parse().orElseThrow();

    assertThat(config.watchesAllNamespaces()).isEqualTo(System.getenv("COWHERD_NAMESPACES") == null);
    if (System.getenv("COWHERD_AGENT_NODE_SELECTOR") == null) {
      assertThat(config.agentNodeSelector()).isEmpty();
    }
  }

  @Test
  void namespaceAndSelectorAreRepeatable() {
    OperatorConfig config = OperatorCommand.parse(
        "--namespace", "boot", "--namespace", "lab,test",
        "--agent-node-selector", "cowherd.io/agent=true", "--agent-node-selector", "zone=a",
        "--log-level", "debug").orElseThrow();

    assertThat(config.namespaces()).isEqualTo(Set.of("boot", "lab", "test"));
    assertThat(config.agentNodeSelector()).isEqualTo(Map.of("cowherd.io/agent", "true", "zone", "a"));
    assertThat(config.logLevel()).isEqualTo("DEBUG");
  }

  @Test
  void selectorWithoutEqualsSignIsRejected() {
    assertThatThrownBy(() -> OperatorCommand.parse("--agent-node-selector", "cowherd.io/agent"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("--agent-node-selector");
  }

  @Test
  void selectorWithInvalidValueIsRejected() {
    assertThatThrownBy(() -> OperatorCommand.parse("--agent-node-selector", "zone=a b"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("zone=a b");
  }

  @Test
  void unknownLogLevelIsRejected() {
    assertThatThrownBy(() -> OperatorCommand.parse("--log-level", "LOUD"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("--log-level");
  }

  @Test
  void helpPrintsUsageAndGivesNoConfig() {
    assertThat(OperatorCommand.parse("--help")).isEmpty();
  }
}
