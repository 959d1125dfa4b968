package io.cowherd.operator.agent;

import io.cowherd.operator.config.AgentSettings;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.javaoperatorsdk.operator.api.config.informer.FieldSelector;
import io.javaoperatorsdk.operator.api.config.informer.InformerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResourceConfigBuilder;
import java.util.Map;
import java.util.Set;

/**
 * The node agent DaemonSet as a java-operator-sdk dependent of the operator's own Deployment:
 * created when missing (also after someone deleted it), updated by server-side apply when the
 * desired one ({@link AgentDaemonSets#desired}) differs, e.g. after a new agent image was
 * configured, and owned by the Deployment so that deleting the operator garbage-collects it.
 *
 * <p>Its informer watches only the one DaemonSet (field selector on its name, in the operator's
 * namespace), so the operator's Role can name it in {@code resourceNames}.
 */
public final class AgentDaemonSetDependent extends CRUDKubernetesDependentResource<DaemonSet, Deployment> {
  private final AgentSettings settings;
  private final String namespace;
  private final Set<String> watchNamespaces;
  private final Map<String, String> nodeSelector;

  /**
   * @param settings the agent settings
   * @param namespace the operator's namespace
   * @param watchNamespaces namespaces whose slots the agent serves; empty for all
   * @param nodeSelector labels of nodes that may serve pools
   */
  public AgentDaemonSetDependent(AgentSettings settings, String namespace, Set<String> watchNamespaces,
      Map<String, String> nodeSelector) {
    super(DaemonSet.class);
    this.settings = settings;
    this.namespace = namespace;
    this.watchNamespaces = Set.copyOf(watchNamespaces);
    this.nodeSelector = Map.copyOf(nodeSelector);
    configureWith(new KubernetesDependentResourceConfigBuilder<DaemonSet>()
        .withKubernetesDependentInformerConfig(InformerConfiguration.builder(DaemonSet.class)
            .withNamespaces(Set.of(namespace))
            .withFieldSelector(new FieldSelector(new FieldSelector.Field("metadata.name", settings.daemonSetName())))
            .build())
        .build());
  }

  @Override
  protected DaemonSet desired(Deployment owner, Context<Deployment> context) {
    return AgentDaemonSets.desired(settings, namespace, watchNamespaces, nodeSelector);
  }
}
