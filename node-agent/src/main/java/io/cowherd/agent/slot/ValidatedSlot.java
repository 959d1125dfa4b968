package io.cowherd.agent.slot;

import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.api.v1alpha1.CowBackend;
import java.nio.file.Path;
import java.util.List;

/**
 * A slot spec checked against this node: every value here is safe to turn into host arguments.
 *
 * @param id namespace, pool and slot number
 * @param shelf AoE shelf, 0 to 65534, not 4095
 * @param iface existing network interface
 * @param origin real path of the origin (symlinks resolved), under an allowed image root
 * @param sizeBytes origin size in bytes, a positive multiple of 512
 * @param backend COW backend
 * @param chunkSectors dm-snapshot chunk size in 512-byte sectors
 * @param writeCache whether the exporter may acknowledge writes from the page cache (else durable)
 * @param exportMacs vblade's {@code -m} list: the slot's client MACs and this agent's probing MAC
 *     (the interface's own), lower case; empty when the slot has no client (every sender is served)
 * @param exportLink the interface the exporter binds: {@code iface}, or its own macvlan on it
 *     ({@link io.cowherd.agent.host.ExporterLinks}); {@code null} means {@code iface}
 */
public record ValidatedSlot(SlotId id, int shelf, String iface, Path origin, long sizeBytes, CowBackend backend,
    int chunkSectors, boolean writeCache, List<String> exportMacs, String exportLink) {
  public ValidatedSlot {
    exportMacs = List.copyOf(exportMacs);
    exportLink = exportLink == null ? iface : exportLink;
  }

  /** A slot whose exporter binds {@code iface} itself. */
  public ValidatedSlot(SlotId id, int shelf, String iface, Path origin, long sizeBytes, CowBackend backend,
      int chunkSectors, boolean writeCache, List<String> exportMacs) {
    this(id, shelf, iface, origin, sizeBytes, backend, chunkSectors, writeCache, exportMacs, null);
  }

  /** A slot served to every sender. */
  public ValidatedSlot(SlotId id, int shelf, String iface, Path origin, long sizeBytes, CowBackend backend,
      int chunkSectors, boolean writeCache) {
    this(id, shelf, iface, origin, sizeBytes, backend, chunkSectors, writeCache, List.of());
  }

  /** The exporter this slot wants for the store served at {@code exportPath}. */
  public VbladeTarget target(Path exportPath) {
    return new VbladeTarget(shelf, id.slot(), iface, exportPath, writeCache, exportMacs, exportLink);
  }
}
