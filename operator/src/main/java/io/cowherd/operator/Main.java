package io.cowherd.operator;

import io.cowherd.operator.config.OperatorCommand;
import io.cowherd.operator.config.OperatorConfig;
import io.cowherd.operator.node.NodeGoneSlotReleaser;
import io.cowherd.operator.placement.NodePicker;
import io.cowherd.operator.pool.PoolEventRecorder;
import io.cowherd.operator.pool.PoolObserver;
import io.cowherd.operator.pool.PoolReconciler;
import io.cowherd.operator.pool.SlotSetExecutor;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * Entry point of the operator: reads {@link OperatorConfig} once, builds the Kubernetes client
 * (fabric8 default configuration: in-cluster service account, or {@code KUBECONFIG} /
 * {@code ~/.kube/config}), registers {@link PoolReconciler} and runs until the JVM is stopped.
 * Wiring only.
 */
public final class Main {
  /** System property the logback configuration reads for the root level. */
  public static final String LOG_LEVEL_PROPERTY = "cowherd.log.level";
  /** Time given to running reconciliations when the JVM stops. */
  private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(10);

  private Main() {}

  /**
   * Runs the operator. Exit status 2 on a bad command line.
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
    Logger log = LoggerFactory.getLogger(Main.class);

    KubernetesClient client = new KubernetesClientBuilder().build();
    Operator operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(true));
    operator.register(newReconciler(config, client, Clock.systemUTC()), c -> {
      if (!config.watchesAllNamespaces()) {
        c.settingNamespaces(config.namespaces());
      }
    });
    operator.installShutdownHook(SHUTDOWN_GRACE);
    operator.start();
    log.info("cowherd operator started: namespaces {}, agent node selector {}",
        config.watchesAllNamespaces() ? "all" : config.namespaces(), config.agentNodeSelector());
    new CountDownLatch(1).await();
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
    PoolEventRecorder events = new PoolEventRecorder(client, clock);
    SlotSetExecutor executor = new SlotSetExecutor(client, new NodeGoneSlotReleaser(client), events);
    return new PoolReconciler(new NodePicker(config.agentNodeSelector()), new PoolObserver(), executor, events, clock);
  }
}
