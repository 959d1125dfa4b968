package io.cowherd.agent.backend;

import io.cowherd.agent.host.CommandFailedException;
import io.cowherd.agent.host.DeviceNode;
import io.cowherd.agent.host.DmDevice;
import io.cowherd.agent.host.Dmsetup;
import io.cowherd.agent.host.Fallocate;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.LoopDevice;
import io.cowherd.agent.host.Losetup;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.SnapshotStatus;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * COW store = device-mapper persistent snapshot (kernel
 * Documentation/admin-guide/device-mapper/snapshot.rst): the origin attached once per image per
 * node with {@code losetup --read-only}, a sparse COW file {@code <poolDir>/slot-<n>.cow} on its
 * own loop device, and {@code dmsetup create cowherd-<ns>-<pool>-<n> --uuid ... --table "0
 * <sectors> snapshot <origin> <cow> PO <chunk>"}; vblade serves {@code /dev/mapper/<name>}.
 *
 * <p>No step waits for udev: {@link Dmsetup} creates and removes devices with {@code --noudevsync}
 * and this class runs {@code dmsetup mknodes NAME} after each, so {@code /dev/mapper/<name>}
 * exists with the device's number before vblade is started on it, and no stale node is left to
 * point a later exporter at another slot's device. A store whose node is missing or points
 * elsewhere is not complete ({@link #find} is empty), so the next reconcile provisions it again,
 * which repairs the node.
 *
 * <p>The COW file is sized to the origin plus the exception store's header and metadata chunks
 * ({@link #cowFileBytes}), so a client rewriting its whole disk cannot overflow the snapshot, and
 * its space is reserved up front with {@link Fallocate} (allocated, unwritten extents), so no other
 * slot and no other file can take it: a full state dir filesystem can no longer invalidate a
 * persistent snapshot. A slot whose reservation does not fit is refused ({@link
 * InsufficientSpaceException}) before any host change. The file is created as a partial, reserved,
 * and renamed, so a crash never leaves a short or unreserved COW file in use; a sparse COW file
 * made by an older agent is reserved in place on adoption ({@link #reserve}). Origin-loop lookup, attach and release
 * are serialized by one lock, so concurrent slots of one image share one origin loop.
 */
public final class DmSnapshotBackend implements CowBackend {
  private static final Logger LOG = LoggerFactory.getLogger(DmSnapshotBackend.class);

  private final HostNames names;
  private final Losetup losetup;
  private final Dmsetup dmsetup;
  private final Path dmKernel;
  private final Path dmControl;
  private final Fallocate fallocate;
  private final ReentrantLock originLock = new ReentrantLock();
  /** COW files known fully reserved in this agent's life. */
  private final Set<Path> reserved = ConcurrentHashMap.newKeySet();

  /**
   * @param dmControl the device-mapper control node, normally {@code /dev/mapper/control}
   * @param dmKernel what exists only while the kernel has device-mapper, normally {@code
   *     /sys/class/misc/device-mapper} (the misc device the driver registers; Documentation/admin-guide/
   *     devices.txt: misc 10/236). The control node alone proves nothing: libdevmapper (any {@code
   *     dmsetup} run on the host or in a pod sharing its /dev) creates it with that number whether or
   *     not the kernel has the driver.
   * @param fallocate reserves COW file space
   */
  public DmSnapshotBackend(HostNames names, Losetup losetup, Dmsetup dmsetup, Path dmControl, Path dmKernel,
      Fallocate fallocate) {
    this.fallocate = fallocate;
    this.names = names;
    this.losetup = losetup;
    this.dmsetup = dmsetup;
    this.dmControl = dmControl;
    this.dmKernel = dmKernel;
  }

  /** Whether device-mapper can be used: the kernel has it and its control node exists. */
  private boolean dmPresent() {
    return Files.exists(dmKernel) && Files.exists(dmControl);
  }

  @Override
  public String name() {
    return "dm-snapshot";
  }

  @Override
  public void checkAvailable(CowRequest request) {
    if (!dmPresent()) {
      throw new BackendUnavailableException("device-mapper is not available on this node (no " + dmKernel + " or "
          + dmControl + "; modprobe dm_snapshot)");
    }
  }

  @Override
  public Optional<CowStore> find(CowRequest request) {
    if (!dmPresent()) {
      return Optional.empty();
    }
    SlotId id = request.id();
    Optional<DmDevice> dm = ourDevice(id);
    if (dm.isEmpty()) {
      return Optional.empty();
    }
    OriginStamp.check(names.cowFilePath(id), request.origin()); // a kept device may predate a new pool
    Path node = HostNames.dmDevicePath(id);
    Optional<String> nodeNumber = DeviceNode.blockMajMin(node);
    if (nodeNumber.isEmpty() || (!dm.get().majMin().isEmpty() && !nodeNumber.get().equals(dm.get().majMin()))) {
      LOG.info("slot {}: dm device {} ({}) exists but its node {} is {}; will repair it", id, dm.get().name(),
          dm.get().majMin(), node, nodeNumber.map(n -> "device " + n).orElse("missing"));
      return Optional.empty();
    }
    Path cow = names.cowFilePath(id);
    String cowLoop = rwLoop(cow).map(LoopDevice::name).orElse(null);
    String originLoop = roLoop(request.origin()).map(LoopDevice::name).orElse(null);
    return Optional.of(new CowStore(node, cow, originLoop, cowLoop, dm.get().name()));
  }

  @Override
  public CowStore provision(CowRequest request) {
    checkAvailable(request);
    SlotId id = request.id();
    Path cow = ensureCowFile(request);
    String cowLoop = rwLoop(cow).map(LoopDevice::name).orElseGet(() -> losetup.attach(cow));
    String name = HostNames.dmName(id);
    String originLoop;
    originLock.lock();
    try {
      originLoop = roLoop(request.origin()).map(LoopDevice::name)
          .orElseGet(() -> losetup.attachReadOnly(request.origin()));
      if (ourDevice(id).isEmpty()) {
        String table = Dmsetup.snapshotTable(request.sizeSectors(), originLoop, cowLoop, request.chunkSectors());
        dmsetup.create(name, HostNames.dmUuid(id), table);
        LOG.info("slot {}: created dm device {} with table '{}'", id, name, table);
      }
    } finally {
      originLock.unlock();
    }
    dmsetup.mknodes(name); // the node exists, with this device's number, before vblade opens it
    return new CowStore(HostNames.dmDevicePath(id), cow, originLoop, cowLoop, name);
  }

  @Override
  public CowUsage usage(CowStore store) {
    return switch (dmsetup.status(store.dmName())) {
      case SnapshotStatus.Active a -> new CowUsage.Sectors(a.allocatedSectors(), a.totalSectors());
      case SnapshotStatus.Broken b -> new CowUsage.Broken("dm snapshot " + store.dmName() + " is " + b.state());
    };
  }

  /**
   * Order: dm device, COW loop (verified gone), then the origin loop if unused; the COW file stays.
   * A slot with neither a dm device nor a COW file (every slot of another backend) has no loop of
   * its own to detach (a loop device whose backing file was deleted or renamed no longer shows this
   * path) and made no origin loop unused: then no {@code losetup} or {@code dmsetup} listing runs
   * (three process starts per slot of a scale-down otherwise).
   */
  @Override
  public void detach(SlotId id, Optional<Path> originHint) {
    String name = HostNames.dmName(id);
    Optional<String> originMajMin = Optional.empty();
    Path cow = names.cowFilePath(id);
    boolean device = dmPresent() && ourDevice(id).isPresent();
    boolean ownLoops = device || Files.exists(cow, LinkOption.NOFOLLOW_LINKS);
    if (device) {
      originMajMin = Optional.ofNullable(dmsetup.snapshotTables().get(name)).flatMap(DmSnapshotBackend::originOf);
      try {
        dmsetup.remove(name);
      } catch (CommandFailedException e) {
        if (Dmsetup.isBusy(e)) {
          throw new TeardownIncompleteException("dm device " + name + " is still open (busy); will retry");
        }
        if (!Dmsetup.isNotFound(e)) {
          throw e;
        }
      }
      LOG.info("slot {}: removed dm device {}", id, name);
    }
    if (dmPresent() && Files.exists(HostNames.dmDevicePath(id), LinkOption.NOFOLLOW_LINKS)) {
      dmsetup.mknodes(name); // removes the node udev would have removed: a stale node could reach another device
    }
    if (ownLoops) {
      for (LoopDevice loop : losetup.findByBackFile(cow)) {
        detach(loop.name());
      }
      if (!losetup.findByBackFile(cow).isEmpty()) {
        throw new TeardownIncompleteException("COW loop of " + cow + " is still attached; will retry");
      }
    }
    StoreFiles.deleteIfExists(cow.resolveSibling(cow.getFileName() + ".partial")); // never used by a device
    if (ownLoops) {
      releaseOrigin(originHint, originMajMin);
    }
  }

  @Override
  public void removeCowStore(SlotId id) {
    Path cow = names.cowFilePath(id); // detach verified that no loop device uses it
    boolean deleted = StoreFiles.deleteIfExists(cow);
    OriginStamp.remove(cow);
    if (deleted) {
      LOG.info("slot {}: deleted COW file {}", id, cow);
    }
    StoreFiles.deleteEmptyDirs(names.poolDir(id), names.stateDir());
  }

  /** Detaches origin loops of this image (or the one our table used) that no snapshot references. */
  private void releaseOrigin(Optional<Path> originHint, Optional<String> originMajMin) {
    if (!dmPresent()) {
      return;
    }
    originLock.lock();
    try {
      List<LoopDevice> loops = losetup.list();
      Map<String, String> tables = dmsetup.snapshotTables();
      for (LoopDevice loop : loops) {
        boolean ours = loop.readOnly()
            && (originMajMin.filter(loop.majMin()::equals).isPresent()
                || originHint.filter(o -> o.equals(loop.backFile())).isPresent());
        boolean used = tables.values().stream().flatMap(t -> originOf(t).stream()).anyMatch(loop.majMin()::equals);
        if (ours && !used) {
          detach(loop.name());
          LOG.info("detached origin loop {} of {}: no slot uses it", loop.name(), loop.backFile());
        }
      }
    } finally {
      originLock.unlock();
    }
  }

  private Path ensureCowFile(CowRequest request) {
    Path cow = names.cowFilePath(request.id());
    if (Files.exists(cow)) {
      OriginStamp.check(cow, request.origin());
      return cow; // holds the client's writes: never recreated (reserved on adoption: reserve())
    }
    OriginIdentity origin = OriginIdentity.of(request.origin());
    OriginStamp.refuseNewStore(cow.getParent(), request.origin(), origin);
    long bytes = cowFileBytes(request.sizeSectors(), request.chunkSectors());
    Path partial = cow.resolveSibling(cow.getFileName() + ".partial");
    // Before any host change: does the reservation fit, keeping the filesystem's minimum free?
    long available = StoreFiles.availableBytes(cow.getParent()) + (Files.exists(partial) ? sizeOf(partial) : 0);
    if (available < bytes) {
      throw new InsufficientSpaceException("COW file " + cow + " of slot " + request.id(), bytes, Math.max(0, available));
    }
    StoreFiles.createDirectories(cow.getParent());
    try (RandomAccessFile f = new RandomAccessFile(partial.toFile(), "rw")) {
      f.setLength(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create COW file " + partial + ": " + e.getMessage(), e);
    }
    try {
      fallocate.reserve(partial, bytes);
    } catch (CommandFailedException e) {
      StoreFiles.deleteIfExists(partial); // never exported, holds no client data
      if (Fallocate.isNoSpace(e)) {
        throw new InsufficientSpaceException("COW file " + cow + " of slot " + request.id(), bytes,
            Math.max(0, StoreFiles.availableBytes(cow.getParent())));
      }
      throw e;
    }
    OriginStamp.write(cow, request.origin(), origin); // first: a crash before the rename leaves only a stamp
    StoreFiles.commit(partial, cow);
    reserved.add(cow);
    LOG.info("slot {}: reserved COW file {} of {} bytes", request.id(), cow, bytes);
    return cow;
  }

  /**
   * Reserves the whole of an adopted COW file (older agents made it sparse): fallocate mode 0 over
   * its current length allocates the holes as unwritten extents and changes no data, so it is safe
   * under a live snapshot. Once done it is not repeated in this agent's life.
   */
  @Override
  public Optional<String> reserve(CowStore store, CowRequest request) {
    Path cow = store.cowStorePath();
    if (reserved.contains(cow) || !Files.isRegularFile(cow)) {
      return Optional.empty();
    }
    long bytes = sizeOf(cow);
    try {
      fallocate.reserve(cow, bytes);
    } catch (CommandFailedException e) {
      if (!Fallocate.isNoSpace(e)) {
        throw e;
      }
      return Optional.of("COW file " + cow + " (" + bytes + " bytes) is not fully reserved: the state dir filesystem"
          + " has no room for the rest; if it fills up, this slot's snapshot may become invalid");
    }
    reserved.add(cow);
    return Optional.empty();
  }

  private static long sizeOf(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot stat " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Size of a COW file that can hold every chunk of the origin, from the persistent exception
   * store's layout (drivers/md/dm-snap-persistent.c): chunk 0 is the header; then areas, each one
   * metadata chunk of 16-byte exception records ({@code chunkSectors * 512 / 16} of them) followed
   * by that many data chunks. An origin of {@code S} sectors has {@code D = ceil(S / chunkSectors)}
   * data chunks and needs {@code M = ceil(D / (chunkSectors * 32))} metadata chunks, so the file is
   * {@code (1 + D + M) * chunkSectors * 512} bytes. Example: a 20 GiB origin (41943040 sectors) with
   * 64-sector (32 KiB) chunks: D = 655360, M = ceil(655360 / 2048) = 320, file = 655681 chunks =
   * 20 GiB + 10.0 MiB (0.05% overhead).
   *
   * @param originSectors origin size in 512-byte sectors
   * @param chunkSectors chunk size in 512-byte sectors
   * @return bytes, a multiple of the chunk size
   */
  public static long cowFileBytes(long originSectors, int chunkSectors) {
    long dataChunks = (originSectors + chunkSectors - 1) / chunkSectors;
    long exceptionsPerArea = (long) chunkSectors * CowRequest.SECTOR_BYTES / 16;
    long metadataChunks = (dataChunks + exceptionsPerArea - 1) / exceptionsPerArea;
    return (1 + dataChunks + metadataChunks) * chunkSectors * CowRequest.SECTOR_BYTES;
  }

  private Optional<DmDevice> ourDevice(SlotId id) {
    Optional<DmDevice> dm = dmsetup.info(HostNames.dmName(id));
    if (dm.isPresent() && !HostNames.dmUuid(id).equals(dm.get().uuid())) {
      throw new HostConflictException("dm device " + dm.get().name() + " exists with UUID '" + dm.get().uuid()
          + "', not this slot's " + HostNames.dmUuid(id) + "; not touching it");
    }
    return dm;
  }

  private Optional<LoopDevice> roLoop(Path origin) {
    return losetup.findByBackFile(origin).stream().filter(LoopDevice::readOnly).findFirst();
  }

  private Optional<LoopDevice> rwLoop(Path cow) {
    return losetup.findByBackFile(cow).stream().filter(d -> !d.readOnly()).findFirst();
  }

  private void detach(String device) {
    try {
      losetup.detach(device);
    } catch (CommandFailedException e) {
      if (!Losetup.isNotFound(e)) {
        throw e;
      }
    }
  }

  /** The origin {@code major:minor} of a snapshot table {@code 0 <n> snapshot <origin> <cow> P <chunk>}. */
  static Optional<String> originOf(String table) {
    String[] f = table.strip().split("\\s+");
    return f.length >= 5 && "snapshot".equals(f[2]) ? Optional.of(f[3]) : Optional.empty();
  }
}
