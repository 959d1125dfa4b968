package io.cowherd.agent.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.List;

/**
 * The node agent's Kubernetes client: the one place it is built, for {@code Main} and for tests that
 * run the agent's parts against an API server.
 *
 * <p>Its serialization knows only the kinds the agent reads ({@link #KINDS}). fabric8's default
 * ({@code new KubernetesSerialization()}) scans every {@code KubernetesResource} service file on the
 * class path the first time a watch event arrives (fabric8 7.5.2, {@code
 * KubernetesDeserializer.Mapping.registerClassesFromClassLoaders}, reached from {@code
 * AbstractWatchManager.onMessage}) and so loads all of the fabric8 model's ≈ 640 resource classes
 * (Gateway API, admission, flow control…) the agent never uses: ≈ 7% of its loaded classes and their
 * metaspace (issue 11, agent RSS; class-load log in docs/performance.md). With the kinds registered
 * up front, a watch event of the agent's own kinds is also read straight into its class instead of a
 * {@code GenericKubernetesResource} that fabric8 then converts.
 *
 * <p>A watch stream carries objects of the watched kind and, on {@code ERROR}, a {@link Status}
 * (for example 410 Gone after compaction, which the informer answers with a relist): {@link Status}
 * is registered so it is still read as one. A kind missing here is not lost: fabric8 reads it as a
 * {@code GenericKubernetesResource} and converts it to the requested type; it only costs that
 * conversion.
 */
public final class AgentClient {
  /** The kinds the agent watches, reads or writes, plus {@link Status}; keep in step with the code. */
  public static final List<Class<? extends KubernetesResource>> KINDS = List.of(AoeBootSlot.class, AoeBootPool.class,
      AoeBootClient.class, Node.class, Lease.class, io.fabric8.kubernetes.api.model.Event.class, Status.class);

  private AgentClient() {}

  /**
   * A client for {@code config} (fabric8's auto-configuration when empty: in a pod, its service
   * account) with the agent's serialization ({@link #serialization()}).
   *
   * @param config the connection; {@code null} for {@code Config.autoConfigure}
   */
  public static KubernetesClient create(Config config) {
    KubernetesClientBuilder builder = new KubernetesClientBuilder().withKubernetesSerialization(serialization());
    return (config == null ? builder : builder.withConfig(config)).build();
  }

  /**
   * fabric8's serialization with its default Jackson setup, no class-path scan for resource kinds
   * ({@code searchClassloaders = false}) and {@link #KINDS} registered by their {@code apiVersion}
   * and {@code kind} annotations.
   */
  public static KubernetesSerialization serialization() {
    KubernetesSerialization serialization = new KubernetesSerialization(new ObjectMapper(), false);
    KINDS.forEach(serialization::registerKubernetesResource);
    return serialization;
  }
}
