package io.cowherd.operator.config;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Command line of the operator. Every option may also come from an environment variable (named in
 * its description), so a Helm chart can set them either way.
 */
@Command(
    name = "cowherd-operator",
    description = "Reconciles AoeBootPools into AoeBootSlots placed on nodes that run the cowherd node agent.")
public final class OperatorCommand implements Callable<OperatorConfig> {
  private static final Pattern LABEL_KEY =
      Pattern.compile("^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$");
  private static final Pattern LABEL_VALUE = Pattern.compile("^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$");
  private static final Pattern LOG_LEVEL = Pattern.compile("^(?i)(TRACE|DEBUG|INFO|WARN|ERROR|OFF)$");

  @Spec private CommandLine.Model.CommandSpec spec;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  private boolean help;

  @Option(
      names = "--namespace",
      split = ",",
      defaultValue = "${env:COWHERD_NAMESPACES}",
      description = "Namespace whose pools are reconciled; repeatable or comma-separated "
          + "(env COWHERD_NAMESPACES). Default: all namespaces.")
  private List<String> namespaces;

  @Option(
      names = "--agent-node-selector",
      split = ",",
      defaultValue = "${env:COWHERD_AGENT_NODE_SELECTOR}",
      description = "key=value label a Node must carry to host slots; repeatable or comma-separated "
          + "(env COWHERD_AGENT_NODE_SELECTOR). Default: every Node.")
  private List<String> agentNodeSelector;

  @Option(
      names = "--log-level",
      defaultValue = "${env:COWHERD_LOG_LEVEL:-INFO}",
      description = "Root log level: TRACE, DEBUG, INFO, WARN, ERROR (env COWHERD_LOG_LEVEL). Default: ${DEFAULT-VALUE}.")
  private String logLevel;

  /**
   * Parses {@code args}.
   *
   * @return the configuration, or empty when the help was printed
   * @throws ParameterException when an option is malformed (the message names the option)
   */
  public static Optional<OperatorConfig> parse(String... args) {
    CommandLine commandLine = new CommandLine(new OperatorCommand());
    CommandLine.ParseResult result = commandLine.parseArgs(args);
    if (CommandLine.printHelpIfRequested(result)) {
      return Optional.empty();
    }
    OperatorCommand command = commandLine.getCommand();
    return Optional.of(command.call());
  }

  /** Validates the parsed options and builds the immutable configuration. */
  @Override
  public OperatorConfig call() {
    Map<String, String> selector = new LinkedHashMap<>();
    for (String pair : nonBlank(agentNodeSelector)) {
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq).trim();
      String value = eq < 0 ? "" : pair.substring(eq + 1).trim();
      if (eq < 0 || !LABEL_KEY.matcher(key).matches() || !LABEL_VALUE.matcher(value).matches()) {
        throw new ParameterException(
            commandLine(), "--agent-node-selector: expected key=value with a valid label key and value, got '" + pair + "'");
      }
      selector.put(key, value);
    }
    if (!LOG_LEVEL.matcher(logLevel).matches()) {
      throw new ParameterException(commandLine(), "--log-level: expected TRACE, DEBUG, INFO, WARN, ERROR or OFF, got '" + logLevel + "'");
    }
    return new OperatorConfig(new LinkedHashSet<>(nonBlank(namespaces)), selector, logLevel.toUpperCase(Locale.ROOT));
  }

  private CommandLine commandLine() {
    return spec.commandLine();
  }

  private static List<String> nonBlank(List<String> values) {
    return values == null ? List.of() : values.stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
  }
}
