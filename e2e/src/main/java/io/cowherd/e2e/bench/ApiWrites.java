package io.cowherd.e2e.bench;

import io.cowherd.e2e.support.ControlPlane;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Counts write requests the API server served, by resource, from its own request counter
 * ({@code apiserver_request_total}, Prometheus text format, read with {@code kubectl get --raw
 * /metrics}). Every mutating request counts, also one that changed nothing (a no-op patch still
 * costs the API server and etcd a round trip), which a watch would not show.
 *
 * <p>Source of the metric and its labels ({@code verb}, {@code group}, {@code resource}, {@code
 * subresource}): the Kubernetes API server metrics reference, "apiserver_request_total".
 */
final class ApiWrites {
  /** The verbs that write: the API server labels server-side apply {@code APPLY}. */
  static final Set<String> WRITE_VERBS = Set.of("POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION");
  private static final Pattern SAMPLE = Pattern.compile("^apiserver_request_total\\{([^}]*)}\\s+(\\S+)$");
  private static final Pattern LABEL = Pattern.compile("(\\w+)=\"([^\"]*)\"");

  private ApiWrites() {}

  /**
   * The write requests served so far, keyed {@code resource[/subresource]} (for example {@code
   * aoebootslots/status}, {@code events}, {@code leases}).
   *
   * @throws io.cowherd.e2e.support.Commands.CommandException when kubectl fails
   */
  static Map<String, Long> read(ControlPlane controlPlane) {
    return parse(controlPlane.kubectlOk("get", "--raw", "/metrics"));
  }

  /** Parses the Prometheus text of {@code /metrics}; see {@link #read}. */
  static Map<String, Long> parse(String metrics) {
    Map<String, Long> writes = new TreeMap<>();
    for (String line : metrics.split("\n")) {
      Matcher m = SAMPLE.matcher(line.strip());
      if (!m.matches()) {
        continue;
      }
      Map<String, String> labels = new TreeMap<>();
      Matcher l = LABEL.matcher(m.group(1));
      while (l.find()) {
        labels.put(l.group(1), l.group(2));
      }
      if (!WRITE_VERBS.contains(labels.getOrDefault("verb", ""))) {
        continue;
      }
      String sub = labels.getOrDefault("subresource", "");
      String key = labels.getOrDefault("resource", "?") + (sub.isEmpty() ? "" : "/" + sub);
      writes.merge(key, (long) Double.parseDouble(m.group(2)), Long::sum);
    }
    return writes;
  }

  /** {@code after - before} per key, keys with no change left out. */
  static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
    Map<String, Long> d = new TreeMap<>();
    after.forEach((k, v) -> {
      long n = v - before.getOrDefault(k, 0L);
      if (n != 0) {
        d.put(k, n);
      }
    });
    return d;
  }
}
