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

  @Test
  void agentOptionsBuildTheDaemonSetSettings() {
    OperatorConfig config = OperatorCommand.parse(
        "--operator-namespace", "cowherd-system", "--leader-election", "--http-port", "8080", "--log-format", "json",
        "--agent-image", "registry.test/agent:1", "--agent-owner-deployment", "cowherd-operator",
        "--agent-image-root", "/srv/images,/mnt/origins/", "--agent-state-dir", "/var/lib/cowherd",
        "--agent-tolerations", "[{\"operator\":\"Exists\"}]", "--agent-image-pull-secret", "regcred").orElseThrow();

    assertThat(config.operatorNamespace()).isEqualTo("cowherd-system");
    assertThat(config.leaderElection()).isTrue();
    assertThat(config.httpPort()).hasValue(8080);
    assertThat(config.logFormat()).isEqualTo("json");
    AgentSettings agent = config.agent().orElseThrow();
    assertThat(agent.image()).isEqualTo("registry.test/agent:1");
    assertThat(agent.imageRoots()).containsExactly("/srv/images", "/mnt/origins");
    assertThat(agent.imagePullSecrets()).containsExactly("regcred");
    assertThat(agent.daemonSetName()).isEqualTo("cowherd-node-agent");
  }

  @Test
  void withoutAgentImageTheOperatorKeepsNoDaemonSet() {
    assertThat(OperatorCommand.parse().orElseThrow().agent()).isEqualTo(
        System.getenv("COWHERD_AGENT_IMAGE") == null ? java.util.Optional.empty() : OperatorCommand.parse().orElseThrow().agent());
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "{0} {1} is rejected")
  @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
    "--agent-image-root | relative/path",
    "--agent-image-root | /srv/../etc",
    "--agent-image-root | /dev",
    "--agent-image-root | /var/lib/cowherd",
    "--agent-state-dir | /tmp",
    "--agent-tolerations | {\"key\":\"x\"}",
    "--agent-resources | {\"requests\":{\"cpu\":{}}}",
    "--agent-image-pull-policy | Sometimes",
    "--agent-log-format | xml",
    "--agent-http-port | 0",
  })
  void badAgentOptionIsRejectedNamingIt(String option, String value) {
    assertThatThrownBy(() -> OperatorCommand.parse("--operator-namespace", "ns", "--agent-image", "a:1",
        "--agent-owner-deployment", "op", "--agent-image-root", "/srv/images", option, value))
        .isInstanceOf(ParameterException.class)
        .hasMessageStartingWith(option + ":");
  }

  @Test
  void agentImageNeedsTheOwnerDeploymentAndTheNamespace() {
    assertThatThrownBy(() -> OperatorCommand.parse("--operator-namespace", "ns", "--agent-image", "a:1",
        "--agent-image-root", "/srv/images"))
        .isInstanceOf(ParameterException.class).hasMessageContaining("--agent-owner-deployment");
    if (System.getenv("POD_NAMESPACE") == null) {
      assertThatThrownBy(() -> OperatorCommand.parse("--agent-image", "a:1", "--agent-owner-deployment", "op",
          "--agent-image-root", "/srv/images"))
          .isInstanceOf(ParameterException.class).hasMessageContaining("--operator-namespace");
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
