package io.cowherd.agent.backend;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Which origin a COW store was made from, and in which state: {@code <store>.origin} beside it
 * holds the origin's real path on its first line and its {@link OriginIdentity} when the store
 * was made on the second (stamps written before identities existed hold only the path; the
 * identity seen when they are first checked is recorded then). This class is the one home of the
 * origin rules: same path ({@link #check}), same identity ({@link #verify}), and no new store from
 * a changed origin ({@link #refuseNewStore}).
 *
 * <p>Path: the origin's real path. A store outlives its slot object (reclaim policy Retain, a
 * deletion without the operator's mark), so a later slot with the same namespace, pool and slot number may meet it; serving it
 * over another origin would hand the client a disk that is neither (a dm-snapshot exception store
 * over the wrong origin), and a reflink clone would hide the new origin. Such a store is a {@link
 * HostConflictException}: not served, not removed. Stores made before stamps existed are not
 * checked for their path; {@link #recordIfMissing} stamps them with the origin they are served
 * over when first seen.
 *
 * <p>Slot object: a third line {@code served-by <uid>} holds the UID of the slot object that made
 * the store or served it last ({@link #recordServedBy}); stamps of older agents lack it. A slot
 * that says the data of slot object X was abandoned moves a store last served by X aside ({@link
 * #moveAside}: renamed with its stamp, never deleted) instead of adopting it; the rule is {@code
 * SlotReclaim.mustMoveAside} of the crds module (the backend layer does not import the API).
 *
 * <p>Rebuild: a line {@code rebuild <token>} holds the slot's {@code spec.rebuild} token the store
 * was built for ({@link #recordRebuild}); a slot whose token differs gets its store discarded and
 * rebuilt (the rule is {@code SlotOrigins} of the crds module, carried out by the slot executor).
 */
public final class OriginStamp {
  /** Prefix of the stamp's third line, followed by the UID of the slot object that made or last served the store. */
  static final String SERVED_BY = "served-by ";
  /** Prefix of the line holding the rebuild token ({@code spec.rebuild}) the store was built for. */
  static final String REBUILD = "rebuild ";
  /** Infix of a store moved aside: {@code slot-<n>.<ext>.abandoned-<UTC timestamp>}. */
  public static final String ABANDONED_INFIX = ".abandoned-";
  private static final DateTimeFormatter ASIDE_STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

  private OriginStamp() {}

  /**
   * What a stamp says.
   *
   * @param path the origin's real path the store was made from
   * @param identity the origin's identity when the store was made, if recorded
   * @param servedBy UID of the slot object that made the store or served it last, if recorded
   * @param rebuild the rebuild token the store was built for, if any
   */
  public record Stamp(String path, Optional<OriginIdentity> identity, Optional<String> servedBy,
      Optional<String> rebuild) {
    /** A stamp without a rebuild token. */
    public Stamp(String path, Optional<OriginIdentity> identity, Optional<String> servedBy) {
      this(path, identity, servedBy, Optional.empty());
    }
  }

  /**
   * What a slot's origin is compared with its store's stamp.
   *
   * @param path the origin's real path
   * @param stamped the identity the store was made from, if recorded
   * @param current the identity now
   * @param change how the origin changed since the store was made, for humans; empty if it did not
   *     (or nothing was recorded to compare with)
   */
  public record Verdict(Path path, Optional<OriginIdentity> stamped, OriginIdentity current, Optional<String> change) {
    /** The identity the slot serves: the stamped one, else the current one. */
    public OriginIdentity serves() {
      return stamped.orElse(current);
    }
  }

  /** Reads the stamp of {@code store}, if there is one. */
  public static Optional<Stamp> read(Path store) {
    List<String> lines;
    try {
      lines = Files.readAllLines(of(store), StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + of(store) + ": " + e.getMessage(), e);
    }
    String path = lines.isEmpty() ? "" : lines.get(0).strip();
    Optional<OriginIdentity> identity = lines.size() > 1 ? OriginIdentity.parse(lines.get(1)) : Optional.empty();
    Optional<String> servedBy = lines.stream().skip(2).map(String::strip)
        .filter(l -> l.startsWith(SERVED_BY) && l.length() > SERVED_BY.length())
        .map(l -> l.substring(SERVED_BY.length()).strip()).findFirst();
    Optional<String> rebuild = lines.stream().skip(2).map(String::strip)
        .filter(l -> l.startsWith(REBUILD) && l.length() > REBUILD.length())
        .map(l -> l.substring(REBUILD.length()).strip()).findFirst();
    return Optional.of(new Stamp(path, identity, servedBy, rebuild));
  }

  /**
   * Compares {@code current}, the identity of {@code origin} now, with what {@code store} was made
   * from. Reads only the stamp.
   */
  public static Verdict verify(Path store, Path origin, OriginIdentity current) {
    Optional<OriginIdentity> stamped = read(store).flatMap(Stamp::identity);
    return new Verdict(origin, stamped, current, stamped.flatMap(s -> s.change(current)));
  }

  /**
   * Records {@code current} as the origin identity of {@code store} if its stamp has none (a stamp
   * of an older agent, or no stamp at all): from now on a change is seen. Does nothing otherwise.
   */
  public static void recordIfMissing(Path store, Path origin, OriginIdentity current) {
    Optional<Stamp> stamp = read(store);
    if (stamp.flatMap(Stamp::identity).isEmpty() && Files.isRegularFile(store)) {
      write(store, origin, current, stamp.flatMap(Stamp::servedBy), stamp.flatMap(Stamp::rebuild));
    }
  }

  /**
   * Records {@code token} as the rebuild token {@code store} was built for, if its stamp names
   * another or none. Call it right after the store is made, before it is exported. Does nothing
   * when the store has no stamp with an identity or is gone.
   */
  public static void recordRebuild(Path store, String token) {
    Optional<Stamp> stamp = read(store);
    if (stamp.isEmpty() || stamp.get().identity().isEmpty() || !Files.isRegularFile(store)
        || stamp.get().rebuild().filter(token::equals).isPresent()) {
      return;
    }
    write(store, Path.of(stamp.get().path()), stamp.get().identity().get(), stamp.get().servedBy(), Optional.of(token));
  }

  /**
   * Records {@code slotUid} as the slot object that serves {@code store} now, if its stamp names
   * another or none. Does nothing when the store has no stamp with an identity yet ({@link
   * #recordIfMissing} first) or is gone.
   */
  public static void recordServedBy(Path store, String slotUid) {
    Optional<Stamp> stamp = read(store);
    if (stamp.isEmpty() || stamp.get().identity().isEmpty() || !Files.isRegularFile(store)
        || stamp.get().servedBy().filter(slotUid::equals).isPresent()) {
      return;
    }
    write(store, Path.of(stamp.get().path()), stamp.get().identity().get(), Optional.of(slotUid),
        stamp.get().rebuild());
  }

  /**
   * Moves {@code store} and its stamp aside, keeping both: renamed to {@code
   * <store>.abandoned-<yyyyMMddTHHmmssZ>} (and that name plus {@code .origin}) in the same
   * directory, so the slot's next provisioning makes a new store. Nothing is deleted; the host
   * inventory reports the moved store as unclaimed. The caller has stopped its exporter and
   * detached its devices.
   *
   * @return the store's new path
   * @throws UncheckedIOException if a rename fails (the store is then still where it was, or moved
   *     without its stamp, which the next call does not need)
   */
  public static Path moveAside(Path store, Instant now) {
    Path aside = store.resolveSibling(store.getFileName() + ABANDONED_INFIX + ASIDE_STAMP.format(now));
    for (int n = 1; Files.exists(aside) || Files.exists(of(aside)); n++) {
      aside = store.resolveSibling(store.getFileName() + ABANDONED_INFIX + ASIDE_STAMP.format(now) + "-" + n);
    }
    try {
      Files.move(store, aside, StandardCopyOption.ATOMIC_MOVE);
      if (Files.exists(of(store))) {
        Files.move(of(store), of(aside), StandardCopyOption.ATOMIC_MOVE);
      }
      try (FileChannel dir = FileChannel.open(store.getParent(), StandardOpenOption.READ)) {
        dir.force(true);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot move COW store " + store + " aside to " + aside + ": " + e.getMessage(), e);
    }
    return aside;
  }

  /**
   * Refuses to make a new store from {@code origin} in {@code poolDir} when a store already there was
   * made from it in another state: the pool would serve two different disks under one image name,
   * and the change may be a write still in progress.
   *
   * @throws OriginChangedException if so (message names the store and the change)
   */
  static void refuseNewStore(Path poolDir, Path origin, OriginIdentity current) {
    if (!Files.isDirectory(poolDir)) {
      return;
    }
    List<Path> stamps;
    try (Stream<Path> files = Files.list(poolDir)) {
      stamps = files.filter(f -> f.getFileName().toString().endsWith(".origin")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + poolDir + ": " + e.getMessage(), e);
    }
    for (Path stampFile : stamps) {
      Path store = stampFile.resolveSibling(stampFile.getFileName().toString().replaceFirst("\\.origin$", ""));
      Optional<Stamp> stamp = read(store);
      if (stamp.isEmpty() || !stamp.get().path().equals(origin.toString()) || !Files.exists(store)) {
        continue;
      }
      Optional<String> change = stamp.get().identity().flatMap(s -> s.change(current));
      if (change.isPresent()) {
        throw new OriginChangedException("origin " + origin + " " + change.get() + " since COW store " + store
            + " was made from it; refusing to make a new COW store from it (this pool would serve two different disks"
            + " under one image, or a copy of a file still being written). Publish a new origin as a new file and"
            + " point the pool at it; see docs/install.md, \"Updating the origin\"");
      }
    }
  }

  /** The stamp file of {@code store}. */
  static Path of(Path store) {
    return store.resolveSibling(store.getFileName() + ".origin");
  }

  /**
   * @throws HostConflictException when {@code store} was stamped with another origin than {@code origin}
   */
  static void check(Path store, Path origin) {
    Optional<Stamp> stamp = read(store);
    if (stamp.isEmpty()) {
      return;
    }
    String stamped = stamp.get().path();
    if (!stamped.equals(origin.toString())) {
      throw new HostConflictException("COW store " + store + " was made from origin " + stamped + ", but this slot's"
          + " origin is " + origin + ": it holds writes over another disk, so it is neither served nor removed."
          + " Restore the pool's image, or delete " + store + " and " + of(store) + " by hand to start this slot"
          + " from " + origin);
    }
  }

  /**
   * Records {@code origin} and its {@code identity} for a store just made (atomically: written
   * beside it, then renamed).
   */
  static void write(Path store, Path origin, OriginIdentity identity) {
    write(store, origin, identity, Optional.empty(), Optional.empty());
  }

  private static void write(Path store, Path origin, OriginIdentity identity, Optional<String> servedBy,
      Optional<String> rebuild) {
    Path partial = of(store).resolveSibling(of(store).getFileName() + ".partial");
    try {
      Files.writeString(partial, origin + "\n" + identity.format() + "\n"
          + servedBy.map(uid -> SERVED_BY + uid + "\n").orElse("")
          + rebuild.map(token -> REBUILD + token + "\n").orElse(""), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + partial + ": " + e.getMessage(), e);
    }
    StoreFiles.commit(partial, of(store));
  }

  /** Deletes the stamp of {@code store}, if any. */
  static void remove(Path store) {
    StoreFiles.deleteIfExists(of(store));
    StoreFiles.deleteIfExists(of(store).resolveSibling(of(store).getFileName() + ".partial"));
  }
}
