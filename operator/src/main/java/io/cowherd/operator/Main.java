package io.cowherd.operator;

import io.cowherd.operator.config.OperatorCommand;
import io.cowherd.operator.clients.ClientAssigner;
import io.cowherd.operator.config.OperatorConfig;
import io.cowherd.operator.http.HttpEndpoints;
import io.cowherd.operator.liveness.AgentHeartbeats;
import io.cowherd.operator.metrics.CowherdMetrics;
import io.cowherd.operator.node.NodeGoneSlotReleaser;
import io.cowherd.operator.node.NodeLivenessWriter;
import io.cowherd.operator.placement.NodePicker;
import io.cowherd.operator.pool.PoolEventRecorder;
import io.cowherd.operator.pool.PoolObserver;
import io.cowherd.operator.pool.PoolReconciler;
import io.cowherd.operator.pool.SilentAgentDeletionReporter;
import io.cowherd.operator.pool.SlotSetExecutor;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * Entry point of the operator: reads {@link OperatorConfig} once, builds the Kubernetes client
 * (fabric8 default configuration: in-cluster service account, or {@code KUBECONFIG} /
 * {@code ~/.kube/config}) and the {@link OperatorRuntime}, serves the health and metrics
 * endpoints when a port is configured, and runs until the JVM is stopped. Wiring only.
 */
public final class Main {
  /** System property the logback configuration reads for the root level. */
  public static final String LOG_LEVEL_PROPERTY = "cowherd.log.level";
  /** System property the logback configuration reads for the log format ({@code text} or {@code json}). */
  public static final String LOG_FORMAT_PROPERTY = "cowherd.log.format";

  private Main() {}

  /**
   * Runs the operator. Exit status 2 on a bad command line, 1 when the HTTP port cannot be bound.
   *
   * @param args see {@code --help}
   * @throws InterruptedException when the main thread is interrupted while the operator runs
   */
  public static void main(String[] args) throws InterruptedException {
    Optional<OperatorConfig> parsed;
    try {
      parsed = OperatorCommand.parse(args);
    } catch (CommandLine.ParameterException e) {
      System.err.println(e.getMessage());
      e.getCommandLine().usage(System.err);
      System.exit(2);
      return;
    }
    if (parsed.isEmpty()) {
      return;
    }
    OperatorConfig config = parsed.get();
    System.setProperty(LOG_LEVEL_PROPERTY, config.logLevel());
    System.setProperty(LOG_FORMAT_PROPERTY, config.logFormat());
    Logger log = LoggerFactory.getLogger(Main.class);

    PrometheusMeterRegistry registry = newMeterRegistry();
    KubernetesClient client = new KubernetesClientBuilder().build();
    OperatorRuntime runtime = new OperatorRuntime(config, client, registry, Clock.systemUTC(), true);
    HttpEndpoints http = null;
    if (config.httpPort().isPresent()) {
      try {
        http = HttpEndpoints.start(config.httpPort().getAsInt(), runtime.health(),
            config.metrics() ? Optional.of(registry) : Optional.empty());
      } catch (IOException e) {
        log.error("Cannot serve HTTP on port {}: {}", config.httpPort().getAsInt(), e.toString());
        System.exit(1);
        return;
      }
    }
    HttpEndpoints endpoints = http;
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      runtime.operator().stop();
      client.close();
      if (endpoints != null) {
        endpoints.close();
      }
    }, "operator-shutdown"));
    runtime.start();
    log.info("cowherd operator started: namespaces {}, leader election {}, placement {}",
        config.watchesAllNamespaces() ? "all" : config.namespaces(),
        config.leaderElection() ? "on (Lease " + config.operatorNamespace() + "/" + config.leaseName() + ")" : "off",
        config.operatorNamespace() == null
            ? "on every Ready, schedulable node (no operator namespace: agent Leases not watched)"
            : "on nodes with a live agent Lease in " + config.operatorNamespace());
    new CountDownLatch(1).await();
  }

  /**
   * The operator's Prometheus registry with Micrometer's JVM and process meters bound; {@link
   * OperatorRuntime} adds java-operator-sdk's and cowherd's. Also used by tests that check dashboard
   * and alert queries against the names really exported.
   */
  public static PrometheusMeterRegistry newMeterRegistry() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    return registry;
  }

  /**
   * Builds the pool reconciler with its collaborators; also used by tests that run the operator
   * in-process.
   *
   * @param config operator settings
   * @param client client for slot writes, Node reads and Events
   * @param clock time source for status and Events
   */
  public static PoolReconciler newReconciler(OperatorConfig config, KubernetesClient client, Clock clock) {
    return newReconciler(config, client, CowherdMetrics.discarding(), clock);
  }

  /**
   * Builds the pool reconciler with its collaborators.
   *
   * @param config operator settings
   * @param client client for slot writes, Node reads and Events
   * @param metrics where pool and slot gauges and reconcile errors go
   * @param clock time source for status and Events
   */
  public static PoolReconciler newReconciler(OperatorConfig config, KubernetesClient client, CowherdMetrics metrics,
      Clock clock) {
    return newReconciler(config, client, metrics, clock, new AgentHeartbeats());
  }

  /**
   * Builds the pool reconciler with its collaborators.
   *
   * @param config operator settings; with an operator namespace, slots go only to nodes whose agent
   *     heartbeat Lease there is live
   * @param client client for slot writes, Node reads and Events
   * @param metrics where pool and slot gauges and reconcile errors go
   * @param clock time source for status, Events and Lease expiry
   * @param heartbeats the agent liveness bookkeeping, shared with the liveness controller
   */
  public static PoolReconciler newReconciler(OperatorConfig config, KubernetesClient client, CowherdMetrics metrics,
      Clock clock, AgentHeartbeats heartbeats) {
    PoolEventRecorder events = new PoolEventRecorder(client, clock);
    SlotSetExecutor executor = new SlotSetExecutor(client, new NodeGoneSlotReleaser(client),
        new NodeLivenessWriter(client, clock), events);
    return new PoolReconciler(new NodePicker(), new PoolObserver(Optional.ofNullable(config.operatorNamespace())),
        executor, events, metrics, clock, new SilentAgentDeletionReporter(client, events, clock), heartbeats,
        new ClientAssigner(client, events, clock));
  }
}
