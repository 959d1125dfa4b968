package io.cowherd.operator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.ParameterException;

class OperatorCommandTest {
  @Test
  void defaultsWatchAllNamespaces() {
    OperatorConfig config = OperatorCommand.parse().orElseThrow();

    assertThat(config.watchesAllNamespaces()).isEqualTo(System.getenv("COWHERD_NAMESPACES") == null);
  }

  @Test
  void namespaceIsRepeatable() {
    OperatorConfig config = OperatorCommand.parse(
        "--namespace", "boot", "--namespace", "lab,test", "--log-level", "debug").orElseThrow();

    assertThat(config.namespaces()).isEqualTo(Set.of("boot", "lab", "test"));
    assertThat(config.logLevel()).isEqualTo("DEBUG");
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

  @Test
  void operatorOptionsParse() {
    OperatorConfig config = OperatorCommand.parse(
        "--operator-namespace", "cowherd-system", "--leader-election", "--http-port", "8080", "--log-format", "json")
        .orElseThrow();

    assertThat(config.operatorNamespace()).isEqualTo("cowherd-system");
    assertThat(config.leaderElection()).isTrue();
    assertThat(config.httpPort()).hasValue(8080);
    assertThat(config.logFormat()).isEqualTo("json");
  }

  /**
   * The agent DaemonSet belongs to the Helm chart: the operator neither builds it nor places slots
   * by a node selector of its own (it follows the agents' Leases), so the old options are gone.
   */
  @ParameterizedTest(name = "{0} is no longer an option")
  @ValueSource(strings = {"--agent-image=a:1", "--agent-node-selector=zone=a", "--agent-image-root=/srv/images"})
  void agentDaemonSetOptionsAreGone(String option) {
    assertThatThrownBy(() -> OperatorCommand.parse(option))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("Unknown option");
  }

  @Test
  void leaderElectionNeedsTheNamespace() {
    if (System.getenv("POD_NAMESPACE") == null) {
      assertThatThrownBy(() -> OperatorCommand.parse("--leader-election"))
          .isInstanceOf(ParameterException.class).hasMessageContaining("--operator-namespace");
    }
  }

  @Test
  void badLogFormatAndHttpPortAreRejected() {
    assertThatThrownBy(() -> OperatorCommand.parse("--log-format", "xml")).hasMessageContaining("--log-format");
    assertThatThrownBy(() -> OperatorCommand.parse("--http-port", "70000")).hasMessageContaining("--http-port");
  }
}
