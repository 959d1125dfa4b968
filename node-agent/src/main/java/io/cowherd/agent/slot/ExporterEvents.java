package io.cowherd.agent.slot;

import io.cowherd.agent.export.ExporterListener;
import io.cowherd.agent.host.SlotId;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.inbound.SimpleInboundEventSource;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Turns exporter changes (exit, restart, adoption, conflict) into reconciles of the owning slot
 * through a JOSDK inbound event source: status follows the exporter without polling.
 */
public final class ExporterEvents implements ExporterListener {
  /** Name of the event source. */
  public static final String NAME = "exporters";

  private final SimpleInboundEventSource<AoeBootSlot> source = new SimpleInboundEventSource<>(NAME);
  private final Map<SlotId, ResourceID> slots = new ConcurrentHashMap<>();

  /** The event source to register with the controller. */
  public SimpleInboundEventSource<AoeBootSlot> eventSource() {
    return source;
  }

  /** Remembers which slot object owns {@code id}'s exporter. */
  public void remember(SlotId id, ResourceID slot) {
    slots.put(id, slot);
  }

  /** Forgets {@code id} (slot deleted). */
  public void forget(SlotId id) {
    slots.remove(id);
  }

  @Override
  public void exporterChanged(SlotId id) {
    ResourceID slot = slots.get(id);
    if (slot != null && source.isRunning()) {
      source.propagateEvent(slot);
    }
  }
}
