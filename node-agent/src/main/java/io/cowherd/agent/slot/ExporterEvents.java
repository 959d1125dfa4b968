package io.cowherd.agent.slot;

import io.cowherd.agent.export.ExporterListener;
import io.cowherd.agent.export.LinkWatcher;
import io.cowherd.agent.host.SlotId;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.inbound.SimpleInboundEventSource;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Turns exporter changes (exit, restart, adoption, conflict) and link changes ({@link
 * LinkWatcher}: an interface added, deleted, up or down) into reconciles of the slots concerned
 * through a JOSDK inbound event source: status follows the exporter and the NIC without polling.
 */
public final class ExporterEvents implements ExporterListener, LinkWatcher.Listener {
  /** Name of the event source. */
  public static final String NAME = "exporters";

  private final SimpleInboundEventSource<AoeBootSlot> source = new SimpleInboundEventSource<>(NAME);
  private final Map<SlotId, ResourceID> slots = new ConcurrentHashMap<>();
  private final Map<SlotId, String> interfaces = new ConcurrentHashMap<>();

  /** The event source to register with the controller. */
  public SimpleInboundEventSource<AoeBootSlot> eventSource() {
    return source;
  }

  /**
   * Remembers which slot object owns {@code id}'s exporter, and the interface it wants ({@code
   * null} if the spec names none).
   */
  public void remember(SlotId id, ResourceID slot, String iface) {
    slots.put(id, slot);
    if (iface == null) {
      interfaces.remove(id);
    } else {
      interfaces.put(id, iface);
    }
  }

  /** Forgets {@code id} (slot deleted). */
  public void forget(SlotId id) {
    slots.remove(id);
    interfaces.remove(id);
  }

  /** Reconciles every slot that wants {@code iface}. */
  @Override
  public void linkChanged(String iface) {
    interfaces.forEach((id, wanted) -> {
      if (wanted.equals(iface)) {
        exporterChanged(id);
      }
    });
  }

  /** Reconciles every slot (link events may have been missed). */
  @Override
  public void resync() {
    slots.keySet().forEach(this::exporterChanged);
  }

  /** Reconciles {@code slot} (e.g. its client's boot stage changed), if its spec names a host identity. */
  public void slotChanged(AoeBootSlot slot) {
    SlotReconciler.slotId(slot).ifPresent(this::exporterChanged);
  }

  @Override
  public void exporterChanged(SlotId id) {
    ResourceID slot = slots.get(id);
    if (slot != null && source.isRunning()) {
      source.propagateEvent(slot);
    }
  }
}
