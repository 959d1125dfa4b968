package io.cowherd.operator.config;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
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
      names = "--log-level",
      defaultValue = "${env:COWHERD_LOG_LEVEL:-INFO}",
      description = "Root log level: TRACE, DEBUG, INFO, WARN, ERROR (env COWHERD_LOG_LEVEL). Default: ${DEFAULT-VALUE}.")
  private String logLevel;

  @Option(
      names = "--log-format",
      defaultValue = "${env:COWHERD_LOG_FORMAT:-text}",
      description = "Log format: text, or json for one JSON object per line (env COWHERD_LOG_FORMAT). Default: ${DEFAULT-VALUE}.")
  private String logFormat;

  @Option(
      names = "--operator-namespace",
      defaultValue = "${env:POD_NAMESPACE}",
      description = "Namespace the operator runs in, for the Lease and the node agents' heartbeat Leases (without it "
          + "no slot is marked AgentAlive=Unknown and slots go to any Ready, schedulable Node instead of only to nodes "
          + "with a live agent) (env POD_NAMESPACE, set from the downward API by the Helm chart).")
  private String operatorNamespace;

  @Option(
      names = "--leader-election",
      defaultValue = "${env:COWHERD_LEADER_ELECTION:-false}",
      arity = "0..1",
      description = "Elect one active replica through a Lease in the operator namespace (env COWHERD_LEADER_ELECTION). "
          + "Default: ${DEFAULT-VALUE}.")
  private boolean leaderElection;

  @Option(
      names = "--lease-name",
      defaultValue = "${env:COWHERD_LEASE_NAME:-" + OperatorConfig.DEFAULT_LEASE_NAME + "}",
      description = "Name of the leader election Lease (env COWHERD_LEASE_NAME). Default: ${DEFAULT-VALUE}.")
  private String leaseName;

  @Option(
      names = "--http-port",
      defaultValue = "${env:COWHERD_HTTP_PORT}",
      description = "Port of /healthz, /readyz and /metrics (env COWHERD_HTTP_PORT). Default: no HTTP server.")
  private Integer httpPort;

  @Option(
      names = "--metrics",
      defaultValue = "${env:COWHERD_METRICS:-true}",
      arity = "0..1",
      description = "Serve Prometheus metrics on /metrics of --http-port (env COWHERD_METRICS). Default: ${DEFAULT-VALUE}.")
  private boolean metrics;

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
    if (!LOG_LEVEL.matcher(logLevel).matches()) {
      throw new ParameterException(commandLine(), "--log-level: expected TRACE, DEBUG, INFO, WARN, ERROR or OFF, got '" + logLevel + "'");
    }
    if (!isLogFormat(logFormat)) {
      throw new ParameterException(commandLine(), "--log-format: expected text or json, got '" + logFormat + "'");
    }
    if (httpPort != null && (httpPort < 1 || httpPort > 65535)) {
      throw new ParameterException(commandLine(), "--http-port: expected 1-65535, got " + httpPort);
    }
    String namespace = operatorNamespace == null || operatorNamespace.isBlank() ? null : operatorNamespace.trim();
    if (leaderElection && namespace == null) {
      throw new ParameterException(commandLine(), "--leader-election needs --operator-namespace (or env POD_NAMESPACE)");
    }
    return new OperatorConfig(new LinkedHashSet<>(nonBlank(namespaces)), logLevel.toUpperCase(Locale.ROOT),
        logFormat.toLowerCase(Locale.ROOT), namespace, leaderElection, leaseName,
        httpPort == null ? OptionalInt.empty() : OptionalInt.of(httpPort), metrics);
  }

  private static boolean isLogFormat(String format) {
    return format != null && (format.equalsIgnoreCase(OperatorConfig.TEXT) || format.equalsIgnoreCase(OperatorConfig.JSON));
  }

  private CommandLine commandLine() {
    return spec.commandLine();
  }

  private static List<String> nonBlank(List<String> values) {
    return values == null ? List.of() : values.stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
  }
}
