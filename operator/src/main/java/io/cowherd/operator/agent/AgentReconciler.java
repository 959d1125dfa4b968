package io.cowherd.operator.agent;

import io.cowherd.operator.config.AgentSettings;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.javaoperatorsdk.operator.api.config.ControllerConfigurationOverrider;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceUtils;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.dependent.ReconcileResult;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the node agent DaemonSet ({@link AgentDaemonSetDependent}) for the operator's own
 * Deployment, the only primary it acts on. Register it with {@link #configure} so its informer
 * watches only the operator's namespace and its events only that Deployment.
 */
@ControllerConfiguration(name = AgentReconciler.NAME, fieldManager = AgentReconciler.FIELD_MANAGER)
public final class AgentReconciler implements Reconciler<Deployment> {
  /** Controller name. */
  public static final String NAME = "node-agent-daemonset";
  /** Field manager of the DaemonSet writes (server-side apply). */
  public static final String FIELD_MANAGER = "cowherd-operator";
  private static final Logger log = LoggerFactory.getLogger(AgentReconciler.class);

  private final AgentSettings settings;
  private final AgentDaemonSetDependent daemonSet;

  /**
   * @param settings agent settings (image, owner Deployment, paths)
   * @param namespace the operator's namespace
   * @param watchNamespaces namespaces whose slots the agent serves; empty for all
   * @param nodeSelector labels of nodes that may serve pools
   */
  public AgentReconciler(AgentSettings settings, String namespace, Set<String> watchNamespaces,
      Map<String, String> nodeSelector) {
    this.settings = settings;
    this.daemonSet = new AgentDaemonSetDependent(settings, namespace, watchNamespaces, nodeSelector);
  }

  /** Restricts the controller to the operator's namespace and its own Deployment. */
  public void configure(ControllerConfigurationOverrider<Deployment> overrider, String namespace) {
    overrider.settingNamespace(namespace);
    overrider.withGenericFilter(deployment -> settings.ownerDeployment().equals(deployment.getMetadata().getName()));
  }

  @Override
  public UpdateControl<Deployment> reconcile(Deployment owner, Context<Deployment> context) {
    if (!settings.ownerDeployment().equals(owner.getMetadata().getName())) {
      return UpdateControl.noUpdate();
    }
    ReconcileResult<DaemonSet> result = daemonSet.reconcile(owner, context);
    if (result.getSingleOperation() != ReconcileResult.Operation.NONE) {
      log.info("Node agent DaemonSet {}/{}: {} (image {})", owner.getMetadata().getNamespace(),
          settings.daemonSetName(), result.getSingleOperation(), settings.image());
    }
    return UpdateControl.noUpdate();
  }

  @Override
  public List<EventSource<?, Deployment>> prepareEventSources(EventSourceContext<Deployment> context) {
    return EventSourceUtils.dependentEventSources(context, daemonSet);
  }
}
