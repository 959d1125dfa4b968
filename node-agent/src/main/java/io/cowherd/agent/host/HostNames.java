package io.cowherd.agent.host;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The one place host object names come from, so adoption after a restart finds exactly what
 * creation made. Layout under the state dir: {@code <stateDir>/<namespace>/<pool>/slot-<n>.*}.
 *
 * <p>dm names are {@code cowherd-<ns>-<pool>-<n>}; since {@code -} may appear inside namespace and
 * pool names that form can be ambiguous, so every dm device also carries a UUID derived from a
 * hash of the unambiguous {@code <ns>/<pool>/<n>}: a device with our name but another UUID is
 * someone else's and is never used or removed.
 */
public final class HostNames {
  /** Longest dm device name the kernel accepts (DM_NAME_LEN 128 including the NUL). */
  public static final int MAX_DM_NAME = 127;
  /** Prefix of every dm name and UUID cowherd creates. */
  public static final String PREFIX = "cowherd-";
  /**
   * Lock file in the state dir held around loop device allocation by every agent process on the
   * node (see {@link NodeLock}).
   */
  public static final String LOSETUP_LOCK_FILE = ".losetup.lock";

  private final Path stateDir;

  /** @param stateDir the agent's state dir (absolute) */
  public HostNames(Path stateDir) {
    this.stateDir = stateDir.toAbsolutePath().normalize();
  }

  public Path stateDir() {
    return stateDir;
  }

  /** Directory holding the COW stores of one pool: {@code <stateDir>/<ns>/<pool>}. */
  public Path poolDir(SlotId id) {
    return stateDir.resolve(id.namespace()).resolve(id.pool());
  }

  /** Reflink clone served by vblade: {@code <poolDir>/slot-<n>.img}. */
  public Path clonePath(SlotId id) {
    return poolDir(id).resolve("slot-" + id.slot() + ".img");
  }

  /** Clone under construction, renamed to {@link #clonePath} once complete. */
  public Path partialClonePath(SlotId id) {
    return poolDir(id).resolve("slot-" + id.slot() + ".img.partial");
  }

  /** Sparse dm-snapshot COW file (exception store): {@code <poolDir>/slot-<n>.cow}. */
  public Path cowFilePath(SlotId id) {
    return poolDir(id).resolve("slot-" + id.slot() + ".cow");
  }

  /** File receiving the exporter's stderr: {@code <poolDir>/slot-<n>.vblade.log}. */
  public Path exporterLogPath(SlotId id) {
    return poolDir(id).resolve("slot-" + id.slot() + ".vblade.log");
  }

  /**
   * dm device name {@code cowherd-<ns>-<pool>-<n>}; when longer than {@value #MAX_DM_NAME}
   * characters, cut and suffixed with 12 hex digits of the UUID hash.
   */
  public static String dmName(SlotId id) {
    String name = PREFIX + id.namespace() + "-" + id.pool() + "-" + id.slot();
    if (name.length() <= MAX_DM_NAME) {
      return name;
    }
    String tail = "-" + id.slot() + "-" + hash(id).substring(0, 12);
    return name.substring(0, MAX_DM_NAME - tail.length()) + tail;
  }

  /** dm UUID {@code cowherd-<32 hex of sha256("<ns>/<pool>/<n>")>}, unambiguous per slot. */
  public static String dmUuid(SlotId id) {
    return PREFIX + hash(id).substring(0, 32);
  }

  /** Device node of the dm device: {@code /dev/mapper/<dmName>}. */
  public static Path dmDevicePath(SlotId id) {
    return Path.of("/dev/mapper", dmName(id));
  }

  private static String hash(SlotId id) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest(id.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }
}
