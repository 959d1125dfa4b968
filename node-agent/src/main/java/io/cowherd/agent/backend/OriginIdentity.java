package io.cowherd.agent.backend;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which file, in which state, an origin is: {@code (st_dev, st_ino, st_size, st_ctime)} from
 * stat(2), ctime in nanoseconds. Equal identities mean the same file, unchanged.
 *
 * <p>Why these fields: a file replaced at the same path (rename over it, delete and copy) gets
 * another inode (or device); a write, truncate, fallocate, chmod, chown, xattr change or
 * {@code touch -d} sets ctime to the current time (inode(7): "the last status change timestamp"),
 * and unlike mtime ctime cannot be set from user space (utimensat(2) sets only atime and mtime,
 * and itself bumps ctime), so tools that keep size and mtime ({@code cp -p}, {@code rsync
 * --inplace -t}, {@code touch -d}) cannot hide a change. Size is redundant with ctime but makes a
 * truncation readable. It costs one stat(2) per origin; a checksum would read the whole origin
 * (seconds to minutes for a multi-GB image) on every check, and once at stamp time would still
 * need this cheap check to know when to compare again. False alarms are possible only for
 * changes that leave the bytes alone (chmod, chown, xattrs) and are reported, never acted on
 * destructively. Not seen: writes to a block device origin (its node's ctime does not change;
 * make such a device read-only with {@code blockdev --setro}).
 *
 * @param device st_dev of the filesystem holding the origin
 * @param inode st_ino
 * @param sizeBytes st_size in bytes
 * @param ctimeNanos st_ctime in nanoseconds since the epoch
 */
public record OriginIdentity(long device, long inode, long sizeBytes, long ctimeNanos) {
  private static final Pattern FORMAT =
      Pattern.compile("dev=(\\d+) ino=(\\d+) size=(\\d+) ctime=(\\d+)\\.(\\d{9})");

  /**
   * The identity of {@code origin} now (symlinks followed).
   *
   * @throws UncheckedIOException if it cannot be stat'ed (e.g. deleted)
   */
  public static OriginIdentity of(Path origin) {
    try {
      Map<String, Object> a = Files.readAttributes(origin, "unix:dev,ino,size,ctime");
      return new OriginIdentity(((Number) a.get("dev")).longValue(), ((Number) a.get("ino")).longValue(),
          ((Number) a.get("size")).longValue(), ((FileTime) a.get("ctime")).to(TimeUnit.NANOSECONDS));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot stat origin " + origin + ": " + e.getMessage(), e);
    }
  }

  /** {@code dev=<n> ino=<n> size=<bytes> ctime=<seconds>.<9 digits>}: the stamp and status form. */
  public String format() {
    return "dev=" + device + " ino=" + inode + " size=" + sizeBytes + " ctime=" + Math.floorDiv(ctimeNanos, 1_000_000_000L)
        + "." + String.format("%09d", Math.floorMod(ctimeNanos, 1_000_000_000L));
  }

  /** Parses {@link #format()}; empty for anything else. */
  public static Optional<OriginIdentity> parse(String text) {
    Matcher m = FORMAT.matcher(text.strip());
    if (!m.matches()) {
      return Optional.empty();
    }
    try {
      return Optional.of(new OriginIdentity(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
          Long.parseLong(m.group(3)), Math.addExact(Math.multiplyExact(Long.parseLong(m.group(4)), 1_000_000_000L),
              Long.parseLong(m.group(5)))));
    } catch (ArithmeticException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /**
   * How {@code now} differs from this identity, for humans; empty if it does not.
   * Examples: "replaced by another file (inode 131 → 140)", "truncated or extended (size 4194304 →
   * 0 bytes)", "changed in place (ctime 1764669353.527442982 → 1764669360.000000000)".
   */
  public Optional<String> change(OriginIdentity now) {
    if (equals(now)) {
      return Optional.empty();
    }
    List<String> what = new ArrayList<>();
    if (device != now.device || inode != now.inode) {
      what.add("replaced by another file (device " + device + " inode " + inode + " → device " + now.device + " inode "
          + now.inode + ")");
    } else {
      if (sizeBytes != now.sizeBytes) {
        what.add("truncated or extended (size " + sizeBytes + " → " + now.sizeBytes + " bytes)");
      }
      what.add("changed in place (ctime " + format().replaceAll(".*ctime=", "") + " → "
          + now.format().replaceAll(".*ctime=", "") + ")");
    }
    return Optional.of(String.join(", ", what));
  }
}
