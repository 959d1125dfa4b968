package io.cowherd.agent.slot;

import io.cowherd.agent.backend.CowBackend;
import io.cowherd.agent.backend.DmSnapshotBackend;
import io.cowherd.agent.backend.ReflinkBackend;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.SlotId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The node's COW backends by API kind, and where each keeps a slot's store and export.
 *
 * @param dmSnapshot the dm-snapshot backend
 * @param reflink the reflink backend
 * @param names host object names
 */
public record BackendRegistry(DmSnapshotBackend dmSnapshot, ReflinkBackend reflink, HostNames names) {
  /** The backend implementing {@code kind}. */
  public CowBackend forKind(io.cowherd.api.v1alpha1.CowBackend kind) {
    return kind == io.cowherd.api.v1alpha1.CowBackend.REFLINK ? reflink : dmSnapshot;
  }

  /** Every backend, for teardown (a slot is torn down on all of them: nothing may leak). */
  public List<CowBackend> all() {
    return List.of(dmSnapshot, reflink);
  }

  /** The path an exporter of slot {@code id} serves under {@code kind}. */
  public Path exportPath(io.cowherd.api.v1alpha1.CowBackend kind, SlotId id) {
    return kind == io.cowherd.api.v1alpha1.CowBackend.REFLINK ? names.clonePath(id) : HostNames.dmDevicePath(id);
  }

  /** Every path an exporter of slot {@code id} may serve: such a vblade is ours by path. */
  public List<Path> exportPaths(SlotId id) {
    return List.of(names.clonePath(id), HostNames.dmDevicePath(id));
  }

  /** The COW store file slot {@code id} has under the backend other than {@code kind}, if any. */
  public Optional<Path> otherStore(io.cowherd.api.v1alpha1.CowBackend kind, SlotId id) {
    Path other = kind == io.cowherd.api.v1alpha1.CowBackend.REFLINK ? names.cowFilePath(id) : names.clonePath(id);
    return Files.exists(other) ? Optional.of(other) : Optional.empty();
  }
}
