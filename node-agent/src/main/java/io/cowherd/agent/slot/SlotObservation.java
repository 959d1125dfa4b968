package io.cowherd.agent.slot;

import io.cowherd.agent.backend.CowRequest;
import io.cowherd.agent.backend.CowStore;
import io.cowherd.agent.export.ExporterState;
import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.agent.host.VbladeTarget;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What the host holds for one slot, read without changing anything.
 *
 * @param slot the validated spec
 * @param request what the backend needs
 * @param store the complete COW store of the wanted backend, if it exists
 * @param otherBackendStore a COW store of the other backend for this slot, if one exists
 * @param wanted the exporter this slot should have
 * @param exporter the supervisor's exporter of this slot, if it manages one
 * @param foreignExporter a vblade not ours claiming the same shelf, slot and interface
 */
public record SlotObservation(
    ValidatedSlot slot,
    CowRequest request,
    Optional<CowStore> store,
    Optional<Path> otherBackendStore,
    VbladeTarget wanted,
    Optional<ExporterState> exporter,
    Optional<VbladeProcess> foreignExporter) {}
