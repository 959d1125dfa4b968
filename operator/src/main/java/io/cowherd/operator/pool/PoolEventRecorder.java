package io.cowherd.operator.pool;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.operator.status.Conditions;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes core/v1 Events about a pool (visible in {@code kubectl describe abp}). Best effort: a failed
 * Event write is logged and never fails the reconciliation.
 *
 * <p>Off the critical path: the Event object is built (and its timestamp taken) by the caller, then
 * written by one background thread in the order recorded, so a reconciliation never waits for an
 * Event POST. At most {@link #MAX_QUEUED} Events wait; more are logged and dropped, as are those still waiting when the operator exits.
 */
public final class PoolEventRecorder {
  /** Event {@code source.component} and {@code reportingComponent}. */
  public static final String COMPONENT = "cowherd-operator";
  /** Longest Event message written, in characters (longer ones are cut). */
  private static final int MAX_MESSAGE_CHARS = 1024;
  private static final Logger log = LoggerFactory.getLogger(PoolEventRecorder.class);

  /** Events waiting to be written, at most. */
  static final int MAX_QUEUED = 4096;

  private final KubernetesClient client;
  private final Clock clock;
  private final ThreadPoolExecutor writer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS,
      new ArrayBlockingQueue<>(MAX_QUEUED), Thread.ofPlatform().name("event-recorder").daemon().factory());

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
      writer.execute(() -> write(event));
    } catch (RejectedExecutionException e) {
      log.warn("Dropped Event {} for {}/{}: {} Events already waiting to be written", reason,
          pool.getMetadata().getNamespace(), pool.getMetadata().getName(), MAX_QUEUED);
    }
  }

  private void write(Event event) {
    try {
      client.v1().events().inNamespace(event.getMetadata().getNamespace()).resource(event).create();
    } catch (KubernetesClientException e) {
      log.warn("Could not record Event {} for {}/{}: {}", event.getReason(), event.getInvolvedObject().getNamespace(),
          event.getInvolvedObject().getName(), e.getMessage());
    }
  }
}
