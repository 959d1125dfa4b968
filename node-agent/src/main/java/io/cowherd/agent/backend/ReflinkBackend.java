package io.cowherd.agent.backend;

import io.cowherd.agent.host.CommandFailedException;
import io.cowherd.agent.host.Cp;
import io.cowherd.agent.host.FileExtents;
import io.cowherd.agent.host.ExtentReader;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.SlotId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * COW store = a reflink clone of the origin at {@code <stateDir>/<ns>/<pool>/slot-<n>.img}, made
 * with the FICLONE ioctl (ioctl_ficlone(2)) through {@code cp --reflink=always}; vblade serves the
 * clone, the filesystem copies a block on its first write. Needs the origin and the state dir on
 * one btrfs, or XFS with {@code reflink=1}.
 *
 * <p>Crash safety: the clone is made as {@code slot-<n>.img.partial}, flushed, and renamed
 * atomically; only the final name is ever exported, so a partial never held client writes and may
 * be discarded. An existing clone is always reused: it holds the client's writes.
 *
 * <p>Space: a clone shares every block with the origin, and fallocate cannot reserve the copies
 * its writes will make. So clones are admitted against the state dir filesystem: each is promised
 * room to rewrite its whole disk (the origin's size), and a new clone is made only if the
 * filesystem's free space, less the minimum it keeps free and less what the existing clones are
 * still promised (their size minus the bytes they already no longer share, as last measured by
 * {@link #usage}; everything for a clone not measured yet), holds its promise; otherwise {@link
 * InsufficientSpaceException} before any host change. This refuses overcommit among slots; it
 * cannot stop other writers to the filesystem (keep the state dir on its own filesystem).
 *
 * <p>Why {@code cp} rather than FICLONE through java.lang.foreign: it goes through the same
 * {@link io.cowherd.agent.host.CommandRunner} as every other host change (argv logged, timeout,
 * typed errors, fakeable in tests) and needs no native access or file-descriptor plumbing; the
 * ioctl it issues is the same.
 */
public final class ReflinkBackend implements CowBackend {
  private static final Logger LOG = LoggerFactory.getLogger(ReflinkBackend.class);
  /** Filesystems whose Linux drivers implement FICLONE (XFS only when made with reflink=1). */
  private static final Set<String> REFLINK_FILESYSTEMS = Set.of("btrfs", "xfs", "bcachefs", "ocfs2");
  /** File name of a clone ({@link HostNames#clonePath}). */
  private static final Pattern CLONE_NAME = Pattern.compile("slot-\\d+\\.img");

  private final HostNames names;
  private final Cp cp;
  private final ExtentReader filefrag;
  /** Source of {@link System#nanoTime()}-like readings, for {@link #REMEASURE_AFTER}. */
  private final LongSupplier nanoTime;
  /** Bytes each clone no longer shares with its origin, as last measured by {@link #usage}. */
  private final Map<Path, Long> unsharedBytes = new ConcurrentHashMap<>();
  /** Each clone's last FIEMAP measurement and the file state it was taken from ({@link #usage}). */
  private final Map<Path, Measured> measured = new ConcurrentHashMap<>();

  /**
   * A clone whose file state is unchanged is measured again after this long anyway: its own writes
   * always change its state, but another file can change what it shares (its origin deleted, so the
   * blocks it shared become its own alone). Until then the value errs towards "still shared", which
   * keeps admission ({@link #promisedToClones}) on the safe side.
   */
  static final Duration REMEASURE_AFTER = Duration.ofMinutes(10);
  /**
   * A clone modified less than this long before it was measured is not remembered: Linux stamps
   * mtime from a coarse clock (a timer tick), so a write just after the measurement might not move
   * it.
   */
  static final Duration QUIET_BEFORE_REUSE = Duration.ofSeconds(2);

  /**
   * What identifies a clone's contents without reading them: inode, size, mtime and ctime (every
   * write through the file moves mtime and ctime, a truncate or extension moves size).
   */
  private record FileState(Object inode, long size, FileTime modified, Object changed) {}

  private record Measured(FileState state, long atNanos, CowUsage.Sectors usage) {}
  /**
   * Serialises admission, so two slots cannot both take the last free bytes: a clone admitted is
   * promised ({@link #cloning}) before the lock is released, and made outside it.
   */
  private final Object admission = new Object();
  /** Clones admitted and being made, with the bytes promised to each until its file exists. */
  private final Map<Path, Long> cloning = new ConcurrentHashMap<>();

  public ReflinkBackend(HostNames names, Cp cp, ExtentReader filefrag) {
    this(names, cp, filefrag, System::nanoTime);
  }

  /** For tests: {@code nanoTime} replaces {@link System#nanoTime()}. */
  ReflinkBackend(HostNames names, Cp cp, ExtentReader filefrag, LongSupplier nanoTime) {
    this.names = names;
    this.cp = cp;
    this.filefrag = filefrag;
    this.nanoTime = nanoTime;
  }

  @Override
  public String name() {
    return "reflink";
  }

  /**
   * A reflink clone of the slot's clone ({@code cp --reflink=always}, FICLONE): cheap, shares every
   * block, and atomic against the exporter's writes (the kernel takes the source inode's I/O and
   * mmap locks and flushes its dirty pages before remapping: fs/remap_range.c, {@code
   * generic_remap_file_range_prep}), so the exporter keeps running; forced to disk afterwards.
   */
  @Override
  public void copyDisk(CowStore store, Path dest, long sizeBytes) {
    if (java.nio.file.Files.exists(dest, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      throw new java.io.UncheckedIOException(new java.nio.file.FileAlreadyExistsException(dest.toString()));
    }
    cp.reflink(store.cowStorePath(), dest);
    try (java.nio.channels.FileChannel out = java.nio.channels.FileChannel.open(dest,
        java.nio.file.StandardOpenOption.WRITE)) {
      out.force(true);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot sync " + dest + ": " + e.getMessage(), e);
    }
  }

  /** False: the clone is atomic against concurrent writes ({@link #copyDisk}). */
  @Override
  public boolean copyNeedsStoppedExporter() {
    return false;
  }

  @Override
  public void checkAvailable(CowRequest request) {
    Path dir = StoreFiles.existingAncestor(names.poolDir(request.id()));
    String fsType = fileSystemType(dir);
    if (!REFLINK_FILESYSTEMS.contains(fsType)) {
      throw unsupported(fsType);
    }
    Object originDev = device(request.origin());
    Object stateDev = device(dir);
    if (!originDev.equals(stateDev)) {
      throw new BackendUnavailableException("origin " + request.origin() + " and state dir " + names.stateDir()
          + " are on different filesystems; reflink (FICLONE) clones only within one filesystem: put the images"
          + " on the state dir's " + fsType + " filesystem, or use backend dm-snapshot");
    }
  }

  @Override
  public Optional<CowStore> find(CowRequest request) {
    Path clone = names.clonePath(request.id());
    if (!Files.isRegularFile(clone)) {
      return Optional.empty();
    }
    OriginStamp.check(clone, request.origin());
    return Optional.of(CowStore.clone(clone));
  }

  @Override
  public CowStore provision(CowRequest request) {
    Path clone = names.clonePath(request.id());
    if (Files.isRegularFile(clone)) {
      OriginStamp.check(clone, request.origin());
      return CowStore.clone(clone); // holds the client's writes: never recreated
    }
    checkAvailable(request);
    synchronized (admission) {
      admit(request, clone);
      cloning.put(clone, request.sizeBytes()); // promised from here on, before the file exists
    }
    try {
      return cloneOrigin(request, clone); // outside the lock: clones (cp, fsyncs) of slots overlap
    } finally {
      cloning.remove(clone);
    }
  }

  /** Refuses {@code request} unless the filesystem can hold its promise besides the other clones'. */
  private void admit(CowRequest request, Path clone) {
    long promised = promisedToClones();
    long available = StoreFiles.availableBytes(clone.getParent()) - promised;
    if (available < request.sizeBytes()) {
      throw new InsufficientSpaceException("reflink clone " + clone + " of slot " + request.id()
          + " (room to rewrite its whole disk; " + promised + " bytes are still promised to the node's other clones)",
          request.sizeBytes(), Math.max(0, available));
    }
  }

  /**
   * Sum over existing clones ({@code <stateDir>/<ns>/<pool>/slot-<n>.img}) of what they may still
   * write: size less bytes no longer shared; plus the whole size of each clone admitted but not made
   * yet (a partial clone shares all its blocks, so free space does not show it). Other slots write their stamps (through short-lived
   * {@code .partial} files) and remove their clones meanwhile: an entry that vanishes between the
   * directory read and its stat is skipped (it promises nothing), never an error.
   */
  long promisedToClones() {
    long promised = 0;
    for (Map.Entry<Path, Long> admitted : cloning.entrySet()) {
      if (!Files.exists(admitted.getKey())) { // once it exists, the listing below counts it
        promised += admitted.getValue();
      }
    }
    for (Path namespace : entries(names.stateDir())) {
      for (Path pool : entries(namespace)) {
        for (Path file : entries(pool)) {
          if (CLONE_NAME.matcher(file.getFileName().toString()).matches() && Files.isRegularFile(file)) {
            promised += Math.max(0, sizeOf(file) - unsharedBytes.getOrDefault(file, 0L));
          }
        }
      }
    }
    return promised;
  }

  /** The entries of {@code dir}; none if it is not a directory (any more). */
  private static List<Path> entries(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      List<Path> list = new ArrayList<>();
      entries.forEach(list::add);
      return list;
    } catch (NoSuchFileException | NotDirectoryException e) {
      return List.of(); // removed meanwhile
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
    }
  }

  private static long sizeOf(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      return 0; // deleted meanwhile: promises nothing
    }
  }

  /**
   * Clones the origin, stamped with its identity; refused if the pool's other clones were made from
   * it in another state, and discarded if it changed while being cloned (a torn copy).
   */
  private CowStore cloneOrigin(CowRequest request, Path clone) {
    OriginIdentity before = OriginIdentity.of(request.origin());
    OriginStamp.refuseNewStore(clone.getParent(), request.origin(), before);
    StoreFiles.createDirectories(clone.getParent());
    Path partial = names.partialClonePath(request.id());
    StoreFiles.deleteIfExists(partial); // left by a crash; never exported, holds no client data
    try {
      cp.reflink(request.origin(), partial);
    } catch (CommandFailedException e) {
      StoreFiles.deleteIfExists(partial);
      if (Cp.isReflinkUnsupported(e)) {
        throw unsupported(fileSystemType(clone.getParent()));
      }
      throw e;
    }
    Optional<String> torn = before.change(OriginIdentity.of(request.origin()));
    if (torn.isPresent()) {
      StoreFiles.deleteIfExists(partial); // never exported, holds no client data
      throw new OriginChangedException("origin " + request.origin() + " " + torn.get() + " while it was being cloned"
          + " for slot " + request.id() + "; the copy was discarded. Publish origins as new files, never write one in"
          + " place; see docs/install.md, \"Updating the origin\"");
    }
    try {
      Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("rw-------"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot set permissions of " + partial + ": " + e.getMessage(), e);
    }
    OriginStamp.write(clone, request.origin(), before); // first: a crash before the rename leaves only a stamp
    StoreFiles.commit(partial, clone);
    LOG.info("slot {}: cloned origin {} to {}", request.id(), request.origin(), clone);
    return CowStore.clone(clone);
  }

  /**
   * Used = bytes of extents no longer shared (FIEMAP: the ioctl in production, {@link
   * io.cowherd.agent.host.Fiemap}, or {@code filefrag -s -v}), rounded up to
   * 512-byte sectors; total = the clone's size in sectors.
   *
   * <p>Cheap when idle: the measurement (a FIEMAP and a sync of the file) is
   * reused while the clone's inode, size, mtime and ctime are what they were when it was taken, for
   * at most {@link #REMEASURE_AFTER}; a clone modified within {@link #QUIET_BEFORE_REUSE} of a
   * measurement is measured again on the next call. One {@code stat} per call otherwise.
   *
   * @throws io.cowherd.agent.host.CommandFailedException if filefrag fails
   */
  @Override
  public CowUsage usage(CowStore store) {
    Path clone = store.cowStorePath();
    Optional<FileState> before = fileState(clone);
    Measured last = measured.get(clone);
    long now = nanoTime.getAsLong();
    if (last != null && before.isPresent() && last.state().equals(before.get())
        && now - last.atNanos() < REMEASURE_AFTER.toNanos()) {
      return last.usage();
    }
    FileExtents extents = filefrag.extents(clone);
    unsharedBytes.put(clone, extents.unsharedBytes());
    long used = (extents.unsharedBytes() + CowRequest.SECTOR_BYTES - 1) / CowRequest.SECTOR_BYTES;
    CowUsage.Sectors usage = new CowUsage.Sectors(used, extents.sizeBytes() / CowRequest.SECTOR_BYTES);
    boolean quiet = before.isPresent()
        && before.get().modified().toInstant().isBefore(Instant.now().minus(QUIET_BEFORE_REUSE));
    if (quiet) {
      measured.put(clone, new Measured(before.get(), now, usage));
    } else {
      measured.remove(clone);
    }
    return usage;
  }

  /** The clone's {@link FileState}, or empty if it cannot be read (then nothing is reused). */
  private static Optional<FileState> fileState(Path file) {
    try {
      Map<String, Object> a = Files.readAttributes(file, "unix:ino,size,lastModifiedTime,ctime");
      return Optional.of(new FileState(a.get("ino"), (Long) a.get("size"), (FileTime) a.get("lastModifiedTime"),
          a.get("ctime")));
    } catch (IOException | UnsupportedOperationException e) {
      return Optional.empty();
    }
  }

  /** A clone needs no device: only an interrupted partial clone (never exported, no client data) goes. */
  @Override
  public void detach(SlotId id, Optional<Path> originHint) {
    StoreFiles.deleteIfExists(names.partialClonePath(id));
  }

  @Override
  public void removeCowStore(SlotId id) {
    unsharedBytes.remove(names.clonePath(id));
    measured.remove(names.clonePath(id));
    boolean deleted = StoreFiles.deleteIfExists(names.clonePath(id));
    OriginStamp.remove(names.clonePath(id));
    if (deleted) {
      LOG.info("slot {}: deleted clone {}", id, names.clonePath(id));
    }
    StoreFiles.deleteEmptyDirs(names.poolDir(id), names.stateDir());
  }

  private BackendUnavailableException unsupported(String fsType) {
    return new BackendUnavailableException("state dir " + names.stateDir() + " on filesystem " + fsType
        + " does not support reflink (FICLONE); use btrfs or XFS with reflink=1, or backend dm-snapshot");
  }

  private static String fileSystemType(Path path) {
    try {
      return Files.getFileStore(path).type();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the filesystem of " + path + ": " + e.getMessage(), e);
    }
  }

  private static Object device(Path path) {
    try {
      return Files.getAttribute(path, "unix:dev");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot stat " + path + ": " + e.getMessage(), e);
    }
  }
}
