package io.cowherd.operator.support;

import io.cowherd.operator.Main;
import io.cowherd.operator.OperatorRuntime;
import io.cowherd.operator.config.OperatorConfig;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.util.Set;

/**
 * Starts the operator in-process for API-server tests, on the test's client (which it does not
 * close on stop), with the system clock and default settings (all namespaces watched, log level
 * INFO). The caller stops what it gets.
 */
public final class Operators {
  private Operators() {}

  /**
   * The pool reconciler alone ({@link Main#newReconciler}), without the liveness controller and
   * metrics: no operator namespace, so placement does not wait for agent heartbeat Leases.
   */
  public static Operator startPoolReconciler(KubernetesClient client) {
    Operator operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    operator.register(Main.newReconciler(new OperatorConfig(Set.of(), "INFO"), client, Clock.systemUTC()));
    operator.start();
    return operator;
  }

  /**
   * The whole operator as Main runs it ({@link OperatorRuntime}: pool and liveness controllers,
   * metrics in a throw-away registry, no JVM exit on a lost Lease) with {@code agentNamespace} as its
   * operator namespace, where it reads the agents' heartbeat Leases.
   */
  public static OperatorRuntime startRuntime(KubernetesClient client, String agentNamespace) {
    return startRuntime(client, new OperatorConfig(Set.of(), "INFO").inNamespace(agentNamespace));
  }

  /** {@link OperatorRuntime} with the given settings (e.g. those the chart passes), started. */
  public static OperatorRuntime startRuntime(KubernetesClient client, OperatorConfig config) {
    OperatorRuntime runtime = new OperatorRuntime(config, client, new SimpleMeterRegistry(), Clock.systemUTC(), false);
    runtime.start();
    return runtime;
  }
}
