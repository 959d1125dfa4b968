package io.cowherd.agent.slot;

import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
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
 * Writes core/v1 Events on slots; a failed write is logged and otherwise ignored.
 *
 * <p>Off the critical path: the Event object is built (and its timestamp taken) by the caller, then
 * written by one background thread in the order recorded, so a reconciliation never waits for an
 * Event POST (a slot's status write no longer queues behind one). At most {@link #MAX_QUEUED}
 * Events wait; more are logged and dropped, as are those still waiting when the agent exits.
 */
public final class KubernetesSlotEvents implements SlotEventRecorder {
  /** Events waiting to be written, at most. */
  static final int MAX_QUEUED = 4096;
  private static final Logger LOG = LoggerFactory.getLogger(KubernetesSlotEvents.class);
  /** Component name in {@code source.component}. */
  public static final String COMPONENT = "cowherd-node-agent";
  private static final int MAX_MESSAGE_CHARS = 1024;

  private final KubernetesClient client;
  private final String nodeName;
  private final Clock clock;
  private final ThreadPoolExecutor writer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS,
      new ArrayBlockingQueue<>(MAX_QUEUED), Thread.ofPlatform().name("slot-events").daemon().factory());

  public KubernetesSlotEvents(KubernetesClient client, String nodeName, Clock clock) {
    this.client = client;
    this.nodeName = nodeName;
    this.clock = clock;
  }

  @Override
  public void record(AoeBootSlot slot, String type, String reason, String message) {
    String now = clock.instant().toString();
    String text = message.length() > MAX_MESSAGE_CHARS ? message.substring(0, MAX_MESSAGE_CHARS) : message;
    Event event = new EventBuilder()
        .withNewMetadata()
        .withGenerateName(slot.getMetadata().getName() + ".")
        .withNamespace(slot.getMetadata().getNamespace())
        .endMetadata()
        .withInvolvedObject(new ObjectReferenceBuilder()
            .withApiVersion(slot.getApiVersion())
            .withKind(slot.getKind())
            .withName(slot.getMetadata().getName())
            .withNamespace(slot.getMetadata().getNamespace())
            .withUid(slot.getMetadata().getUid())
            .build())
        .withType(type)
        .withReason(reason)
        .withMessage(text)
        .withNewSource(COMPONENT, nodeName)
        .withReportingComponent("cowherd.io/node-agent")
        .withReportingInstance(nodeName)
        .withFirstTimestamp(now)
        .withLastTimestamp(now)
        .withCount(1)
        .build();
    try {
      writer.execute(() -> write(event));
    } catch (RejectedExecutionException e) {
      LOG.warn("dropped event {} on slot {}/{}: {} events already waiting to be written", reason,
          slot.getMetadata().getNamespace(), slot.getMetadata().getName(), MAX_QUEUED);
    }
  }

  private void write(Event event) {
    try {
      client.v1().events().inNamespace(event.getMetadata().getNamespace()).resource(event).create();
    } catch (KubernetesClientException e) {
      LOG.warn("cannot record event {} on slot {}/{}: {}", event.getReason(), event.getInvolvedObject().getNamespace(),
          event.getInvolvedObject().getName(), e.getMessage());
    }
  }
}
