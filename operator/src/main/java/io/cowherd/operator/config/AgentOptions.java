package io.cowherd.operator.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The {@code --agent-*} options of {@link OperatorCommand}: how the operator runs the node agent
 * DaemonSet. All of them only matter when {@code --agent-image} is given.
 */
public final class AgentOptions {
  private static final Pattern DNS_NAME = Pattern.compile("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");
  private static final Pattern PULL_POLICY = Pattern.compile("^(Always|IfNotPresent|Never)$");
  private static final Pattern LOG_LEVEL = Pattern.compile("^(?i)(TRACE|DEBUG|INFO|WARN|ERROR|OFF)$");
  /** Paths the agent container mounts for itself; an image root or state dir may not take them. */
  private static final Set<String> RESERVED_PATHS = Set.of("/", "/dev", "/lib/modules", "/tmp", "/run", "/proc", "/sys");
  private static final ObjectMapper JSON = new ObjectMapper();

  @Option(names = "--agent-image", defaultValue = "${env:COWHERD_AGENT_IMAGE}",
      description = "Node agent image; when set, the operator keeps the node agent DaemonSet in its namespace "
          + "(env COWHERD_AGENT_IMAGE). Default: none (the agent runs elsewhere).")
  String image;

  @Option(names = "--agent-image-pull-policy", defaultValue = "${env:COWHERD_AGENT_IMAGE_PULL_POLICY:-IfNotPresent}",
      description = "Always, IfNotPresent or Never. Default: ${DEFAULT-VALUE}.")
  String imagePullPolicy;

  @Option(names = "--agent-image-pull-secret", split = ",", defaultValue = "${env:COWHERD_AGENT_IMAGE_PULL_SECRETS}",
      description = "Secret (in the operator's namespace) for pulling the agent image; repeatable or comma-separated.")
  List<String> imagePullSecrets;

  @Option(names = "--agent-daemonset-name", defaultValue = "${env:COWHERD_AGENT_DAEMONSET:-cowherd-node-agent}",
      description = "Name of the agent DaemonSet. Default: ${DEFAULT-VALUE}.")
  String daemonSetName;

  @Option(names = "--agent-service-account", defaultValue = "${env:COWHERD_AGENT_SERVICE_ACCOUNT:-cowherd-node-agent}",
      description = "ServiceAccount of the agent pods. Default: ${DEFAULT-VALUE}.")
  String serviceAccountName;

  @Option(names = "--agent-owner-deployment", defaultValue = "${env:COWHERD_AGENT_OWNER_DEPLOYMENT}",
      description = "The operator's own Deployment, owner of the agent DaemonSet; required with --agent-image.")
  String ownerDeployment;

  @Option(names = "--agent-state-dir", defaultValue = "${env:COWHERD_AGENT_STATE_DIR:-/var/lib/cowherd}",
      description = "Host directory of the COW stores. Default: ${DEFAULT-VALUE}.")
  String stateDir;

  @Option(names = "--agent-image-root", split = ",", defaultValue = "${env:COWHERD_AGENT_IMAGE_ROOTS}",
      description = "Host directory origins must lie under (mounted read-only); repeatable or comma-separated; "
          + "at least one with --agent-image.")
  List<String> imageRoots;

  @Option(names = "--agent-tolerations", defaultValue = "${env:COWHERD_AGENT_TOLERATIONS:-[]}",
      description = "Tolerations of the agent pods as a JSON array. Default: ${DEFAULT-VALUE}.")
  String tolerations;

  @Option(names = "--agent-resources",
      defaultValue = "${env:COWHERD_AGENT_RESOURCES:-{\"requests\":{\"cpu\":\"50m\",\"memory\":\"192Mi\"},\"limits\":{\"memory\":\"512Mi\"}}}",
      description = "Container resources of the agent as a JSON object. Default: ${DEFAULT-VALUE}.")
  String resources;

  @Option(names = "--agent-http-port", defaultValue = "${env:COWHERD_AGENT_HTTP_PORT:-9810}",
      description = "Host port of the agent's health and metrics endpoints. Default: ${DEFAULT-VALUE}.")
  int httpPort;

  @Option(names = "--agent-boot-port", defaultValue = "${env:COWHERD_AGENT_BOOT_PORT:-0}",
      description = "Host port of the agents' boot endpoint /boot/v1/ipxe (docs/booting-clients.md); 0: none. "
          + "Default: ${DEFAULT-VALUE}.")
  int bootPort;

  @Option(names = "--agent-log-level", defaultValue = "${env:COWHERD_AGENT_LOG_LEVEL:-INFO}",
      description = "The agent's root log level. Default: ${DEFAULT-VALUE}.")
  String logLevel;

  @Option(names = "--agent-log-format", defaultValue = "${env:COWHERD_AGENT_LOG_FORMAT:-text}",
      description = "The agent's log format, text or json. Default: ${DEFAULT-VALUE}.")
  String logFormat;

  @Option(names = "--agent-priority-class", defaultValue = "${env:COWHERD_AGENT_PRIORITY_CLASS:-}",
      description = "Priority class of the agent pods. Default: none.")
  String priorityClassName;

  /**
   * Validates the options.
   *
   * @return the settings, or empty when no agent image is configured
   * @throws ParameterException naming the offending option
   */
  Optional<AgentSettings> settings(CommandLine commandLine) {
    if (image == null || image.isBlank()) {
      return Optional.empty();
    }
    require(commandLine, PULL_POLICY.matcher(imagePullPolicy).matches(), "--agent-image-pull-policy",
        "expected Always, IfNotPresent or Never, got '" + imagePullPolicy + "'");
    List<String> secrets = OperatorCommand.nonBlank(imagePullSecrets);
    for (String secret : secrets) {
      require(commandLine, isDnsName(secret, 253), "--agent-image-pull-secret", "not a valid Secret name: '" + secret + "'");
    }
    require(commandLine, isDnsName(daemonSetName, 63), "--agent-daemonset-name", "not a valid name: '" + daemonSetName + "'");
    require(commandLine, isDnsName(serviceAccountName, 253), "--agent-service-account",
        "not a valid name: '" + serviceAccountName + "'");
    require(commandLine, ownerDeployment != null && isDnsName(ownerDeployment, 253), "--agent-owner-deployment",
        "the operator's Deployment name is required with --agent-image, got '" + ownerDeployment + "'");
    String state = hostPath(commandLine, "--agent-state-dir", stateDir);
    List<String> roots = new ArrayList<>();
    Set<String> seen = new HashSet<>(Set.of(state));
    for (String root : OperatorCommand.nonBlank(imageRoots)) {
      String path = hostPath(commandLine, "--agent-image-root", root);
      require(commandLine, seen.add(path), "--agent-image-root",
          "'" + path + "' is given twice or equals --agent-state-dir (each is mounted once)");
      roots.add(path);
    }
    require(commandLine, !roots.isEmpty(), "--agent-image-root", "at least one image root is required with --agent-image");
    require(commandLine, isArrayOfObjects(tolerations), "--agent-tolerations", "expected a JSON array of objects");
    require(commandLine, isResources(resources), "--agent-resources",
        "expected a JSON object with only 'requests' and 'limits', each mapping names to quantities");
    require(commandLine, httpPort > 0 && httpPort < 65536, "--agent-http-port", "expected 1-65535, got " + httpPort);
    require(commandLine, bootPort >= 0 && bootPort < 65536 && bootPort != httpPort, "--agent-boot-port",
        "expected 0 (none) or 1-65535 other than --agent-http-port, got " + bootPort);
    require(commandLine, LOG_LEVEL.matcher(logLevel).matches(), "--agent-log-level",
        "expected TRACE, DEBUG, INFO, WARN, ERROR or OFF, got '" + logLevel + "'");
    require(commandLine, OperatorCommand.isLogFormat(logFormat), "--agent-log-format",
        "expected text or json, got '" + logFormat + "'");
    require(commandLine, priorityClassName.isEmpty() || isDnsName(priorityClassName, 253), "--agent-priority-class",
        "not a valid name: '" + priorityClassName + "'");
    return Optional.of(new AgentSettings(image.trim(), imagePullPolicy, secrets, daemonSetName, serviceAccountName,
        ownerDeployment, state, roots, tolerations, resources, httpPort, logLevel.toUpperCase(Locale.ROOT),
        logFormat.toLowerCase(Locale.ROOT), priorityClassName, bootPort));
  }

  /** An absolute, normalized host path that is none of the agent container's own mounts. */
  private static String hostPath(CommandLine commandLine, String option, String value) {
    require(commandLine, value != null && value.startsWith("/"), option, "expected an absolute path, got '" + value + "'");
    String trimmed = value.length() > 1 && value.endsWith("/") ? value.substring(0, value.length() - 1) : value;
    Path path = Path.of(value).normalize();
    require(commandLine, path.toString().equals(trimmed), option,
        "expected a normalized path (no '.', '..' or '//'), got '" + value + "'");
    require(commandLine, !RESERVED_PATHS.contains(path.toString()), option,
        "'" + path + "' is mounted by the agent container itself; choose another directory");
    return path.toString();
  }

  private static boolean isDnsName(String value, int maxChars) {
    if (value == null || value.length() > maxChars) {
      return false;
    }
    for (String label : value.split("\\.", -1)) {
      if (!DNS_NAME.matcher(label).matches()) {
        return false;
      }
    }
    return true;
  }

  private static boolean isArrayOfObjects(String json) {
    JsonNode node = parse(json);
    if (node == null || !node.isArray()) {
      return false;
    }
    for (JsonNode item : node) {
      if (!item.isObject()) {
        return false;
      }
    }
    return true;
  }

  private static boolean isResources(String json) {
    JsonNode node = parse(json);
    if (node == null || !node.isObject()) {
      return false;
    }
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      JsonNode quantities = node.get(name);
      if (!Set.of("requests", "limits").contains(name) || !quantities.isObject()) {
        return false;
      }
      for (JsonNode quantity : quantities) {
        if (!quantity.isTextual() && !quantity.isNumber()) {
          return false;
        }
      }
    }
    return true;
  }

  private static JsonNode parse(String json) {
    try {
      return json == null ? null : JSON.readTree(json);
    } catch (JsonProcessingException e) {
      return null;
    }
  }

  private static void require(CommandLine commandLine, boolean ok, String option, String message) {
    if (!ok) {
      throw new ParameterException(commandLine, option + ": " + message);
    }
  }
}
