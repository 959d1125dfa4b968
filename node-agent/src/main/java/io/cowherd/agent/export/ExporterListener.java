package io.cowherd.agent.export;

import io.cowherd.agent.host.SlotId;

/** Told when an exporter's state changed (exited, restarted, adopted, conflict found). */
@FunctionalInterface
public interface ExporterListener {
  /** Called from the supervisor's threads; must not block. */
  void exporterChanged(SlotId id);
}
