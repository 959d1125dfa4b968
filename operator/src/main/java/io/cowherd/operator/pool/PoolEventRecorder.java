package io.cowherd.operator.pool;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.operator.status.Conditions;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes core/v1 Events about a pool (visible in {@code kubectl describe abp}). Best effort: a failed
 * Event write is logged and never fails the reconciliation.
 */
public final class PoolEventRecorder {
  /** Event {@code source.component} and {@code reportingComponent}. */
  public static final String COMPONENT = "cowherd-operator";
  /** Longest Event message written, in characters (longer ones are cut). */
  private static final int MAX_MESSAGE_CHARS = 1024;
  private static final Logger log = LoggerFactory.getLogger(PoolEventRecorder.class);

  private final KubernetesClient client;
  private final Clock clock;

  /**
   * @param client client used to create Events
   * @param clock time source for the Event timestamps
   */
  public PoolEventRecorder(KubernetesClient client, Clock clock) {
    this.client = client;
    this.clock = clock;
  }

  /** Records a {@code Normal} Event with {@code reason} (CamelCase) and {@code message}. */
  public void normal(AoeBootPool pool, String reason, String message) {
    record(pool, "Normal", reason, message);
  }

  /** Records a {@code Warning} Event with {@code reason} (CamelCase) and {@code message}. */
  public void warning(AoeBootPool pool, String reason, String message) {
    record(pool, "Warning", reason, message);
  }

  /** Records a {@code Warning} Event with {@code reason} on {@code involved} (e.g. a slot of the pool). */
  public void warning(HasMetadata involved, String reason, String message) {
    record(involved, "Warning", reason, message);
  }

  private void record(HasMetadata pool, String type, String reason, String message) {
    String now = Conditions.timestamp(clock.instant());
    String text = message.length() > MAX_MESSAGE_CHARS ? message.substring(0, MAX_MESSAGE_CHARS) : message;
    Event event = new EventBuilder()
        .withNewMetadata()
        .withGenerateName(pool.getMetadata().getName() + ".")
        .withNamespace(pool.getMetadata().getNamespace())
        .endMetadata()
        .withNewInvolvedObject()
        .withApiVersion(pool.getApiVersion())
        .withKind(pool.getKind())
        .withName(pool.getMetadata().getName())
        .withNamespace(pool.getMetadata().getNamespace())
        .withUid(pool.getMetadata().getUid())
        .withResourceVersion(pool.getMetadata().getResourceVersion())
        .endInvolvedObject()
        .withType(type)
        .withReason(reason)
        .withMessage(text)
        .withFirstTimestamp(now)
        .withLastTimestamp(now)
        .withCount(1)
        .withNewSource().withComponent(COMPONENT).endSource()
        .withReportingComponent(COMPONENT)
        .build();
    try {
      client.v1().events().inNamespace(pool.getMetadata().getNamespace()).resource(event).create();
    } catch (KubernetesClientException e) {
      log.warn("Could not record Event {} for {}/{}: {}", reason,
          pool.getMetadata().getNamespace(), pool.getMetadata().getName(), e.getMessage());
    }
  }
}
