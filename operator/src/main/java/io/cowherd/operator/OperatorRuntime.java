package io.cowherd.operator;

import io.cowherd.api.LeanItemStore;
import io.cowherd.operator.config.OperatorConfig;
import io.cowherd.operator.http.OperatorHealth;
import io.cowherd.operator.liveness.AgentHeartbeats;
import io.cowherd.operator.liveness.AgentLivenessReconciler;
import io.cowherd.operator.liveness.LivenessConditionWriter;
import io.cowherd.operator.metrics.CowherdMetrics;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.RuntimeInfo;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An operator built from {@link OperatorConfig}, not yet started: the pool controller, the agent
 * liveness controller (when the operator namespace is known: the node agents' heartbeat Leases live
 * there; both controllers share one {@link AgentHeartbeats}), java-operator-sdk's Micrometer
 * metrics and, when configured, leader election through a Lease in the operator's namespace.
 * {@link Main} runs it; tests build it with a client of their choice (e.g. one impersonating the
 * operator's ServiceAccount).
 */
public final class OperatorRuntime {
  private final Operator operator;
  private final OperatorConfig config;
  private final AtomicBoolean leading = new AtomicBoolean();

  /**
   * @param config operator settings
   * @param client client of every controller
   * @param registry where java-operator-sdk's and cowherd's meters go
   * @param clock time source for status and Events
   * @param exitOnLostLease exit the JVM when the Lease is lost (true in production: another replica
   *     took over; false in tests, which stop operators they started)
   */
  public OperatorRuntime(OperatorConfig config, KubernetesClient client, MeterRegistry registry, Clock clock,
      boolean exitOnLostLease) {
    this.config = config;
    this.operator = new Operator(o -> {
      // JOSDK's default of 50 reconciler threads grew the thread count with pools (issue 11); slot writes
      // run on virtual threads (SlotSetExecutor), so a few reconciler threads suffice.
      o.withKubernetesClient(client).withCloseClientOnStop(false).withMetrics(MicrometerMetrics.withoutPerResourceMetrics(registry))
          .withConcurrentReconciliationThreads(8);
      if (config.leaderElection()) {
        o.withLeaderElectionConfiguration(new LeaderElectionConfiguration(config.leaseName(), config.operatorNamespace(),
            LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE, LeaderElectionConfiguration.RENEW_DEADLINE_DEFAULT_VALUE,
            LeaderElectionConfiguration.RETRY_PERIOD_DEFAULT_VALUE, null,
            new LeaderCallbacks(() -> leading.set(true), () -> leading.set(false), leader -> { }), exitOnLostLease));
      }
    });
    AgentHeartbeats heartbeats = new AgentHeartbeats();
    operator.register(Main.newReconciler(config, client, new CowherdMetrics(registry), clock, heartbeats), c -> {
      c.withItemStore(LeanItemStore.create()); // no managedFields in the cache (LeanItemStore, issue 11)
      if (!config.watchesAllNamespaces()) {
        c.settingNamespaces(config.namespaces());
      }
    });
    if (config.operatorNamespace() != null) {
      AgentLivenessReconciler liveness = new AgentLivenessReconciler(config.operatorNamespace(), heartbeats,
          new LivenessConditionWriter(client, clock), AgentHeartbeats.LeaseReader.of(client), clock);
      operator.register(liveness, c -> {
        c.withItemStore(LeanItemStore.create());
        c.withRetry(AgentLivenessReconciler.retry()); // never gives up: a dead agent sends no further event
        if (!config.watchesAllNamespaces()) {
          c.settingNamespaces(config.namespaces());
        }
      });
    }
  }

  /** The operator (register nothing more; start and stop it). */
  public Operator operator() {
    return operator;
  }

  /** Starts the controllers (with leader election: once this replica holds the Lease). */
  public void start() {
    operator.start();
  }

  /** Stops the controllers. */
  public void stop() {
    operator.stop();
  }

  /** Whether this replica holds the Lease (always false without leader election). */
  public boolean isLeading() {
    return leading.get();
  }

  /** Liveness and readiness of this operator. */
  public OperatorHealth health() {
    RuntimeInfo info = operator.getRuntimeInfo();
    return new OperatorHealth(info::isStarted, config.leaderElection(), leading::get,
        () -> (Map<String, ? extends Map<String, ?>>) info.unhealthyEventSources());
  }
}
