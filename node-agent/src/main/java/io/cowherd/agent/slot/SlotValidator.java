package io.cowherd.agent.slot;

import io.cowherd.agent.host.ExporterLinks;
import io.cowherd.agent.host.SlotId;
import io.cowherd.api.MacAddress;
import io.cowherd.api.v1alpha1.AoeBootSlotSpec;
import io.cowherd.agent.host.NetLinks;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.CowSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks a slot spec against this node before anything touches the host: the image's real path
 * (symlinks resolved) lies under an allowed image root, is a readable regular file (or block
 * device for dm-snapshot) whose size is a positive multiple of 512 bytes; the interface name is
 * valid and does not start with {@code -}; shelf, slot and chunk size are in range. Reads only.
 * Whether the interface exists and is up is a host fact that comes and goes ({@link
 * io.cowherd.agent.host.NetLinks}, checked by the observer), not a spec error.
 */
public final class SlotValidator {
  private static final Logger LOG = LoggerFactory.getLogger(SlotValidator.class);
  private static final Pattern IFACE = Pattern.compile("[A-Za-z0-9._-]{1,15}");
  private static final int S_IFMT = 0170000;
  private static final int S_IFBLK = 0060000;
  /** Suffix of a capture's hidden partial file ({@link #capturePartial}); reserved: no origin, no capture. */
  static final String PARTIAL_SUFFIX = ".capture-partial";
  /** Longest file name, in bytes, on Linux file systems (NAME_MAX, limits.h). */
  private static final int NAME_MAX = 255;

  private final List<Path> imageRoots;
  private final Path sysRoot;
  private final ExporterLinks links;

  /**
   * Exporters bind their slot's NIC itself ({@link ExporterLinks.Placement#SHARED}).
   *
   * @param imageRoots allowed origin roots (resolved to real paths at each check)
   * @param sysRoot sysfs, normally {@code /sys}
   */
  public SlotValidator(List<Path> imageRoots, Path sysRoot) {
    this(imageRoots, sysRoot, ExporterLinks.shared(sysRoot));
  }

  /**
   * @param imageRoots allowed origin roots (resolved to real paths at each check)
   * @param sysRoot sysfs, normally {@code /sys}
   * @param links where exporters bind ({@link ValidatedSlot#exportLink()})
   */
  public SlotValidator(List<Path> imageRoots, Path sysRoot, ExporterLinks links) {
    this.imageRoots = List.copyOf(imageRoots);
    this.sysRoot = sysRoot;
    this.links = links;
  }

  /**
   * @return the checked values
   * @throws InvalidSlotException naming the first problem found
   */
  public ValidatedSlot validate(String namespace, AoeBootSlotSpec spec) {
    SlotId id;
    try {
      id = new SlotId(namespace, require(spec.getPool(), "pool"), require(spec.getSlot(), "slot"));
    } catch (IllegalArgumentException e) {
      throw new InvalidSlotException(e.getMessage());
    }
    int shelf = require(spec.getShelf(), "shelf");
    if (shelf < 0 || shelf > 65534 || shelf == 4095) {
      throw new InvalidSlotException("shelf " + shelf + " is out of range: 0 to 65534, not 4095");
    }
    CowSpec cow = spec.cowOrDefault();
    int chunk = cow.chunkSectorsOrDefault();
    if (chunk < 8 || chunk > 1024 || Integer.bitCount(chunk) != 1) {
      throw new InvalidSlotException("chunkSectors " + chunk + " must be a power of two from 8 to 1024 (512-byte sectors)");
    }
    String iface = require(spec.getInterface(), "interface");
    if (!IFACE.matcher(iface).matches() || iface.equals(".") || iface.equals("..")) {
      throw new InvalidSlotException("interface '" + iface + "' is not a valid interface name");
    }
    if (iface.startsWith("-")) {
      // vblade would read it as options (cowherd also passes "--" before the positionals).
      throw new InvalidSlotException("interface '" + iface + "' must not start with '-'");
    }
    if (ExporterLinks.isLinkName(iface)) {
      // cw<shelf><slot> names are the agent's own exporter links: created and deleted per exporter.
      throw new InvalidSlotException("interface '" + iface + "' is named like one of cowherd's exporter links "
          + "(cw + 6 hex digits); name the NIC itself");
    }
    Path origin = checkImage(require(spec.getImage(), "image"));
    long sizeBytes = sizeBytes(origin);
    boolean blockDevice = isBlockDevice(origin);
    if (blockDevice && cow.backendOrDefault() == CowBackend.REFLINK) {
      throw new InvalidSlotException("image " + origin + " is a block device; backend reflink needs a regular file");
    }
    if (sizeBytes <= 0 || sizeBytes % 512 != 0) {
      throw new InvalidSlotException("image " + origin + " is " + sizeBytes
          + " bytes, not a positive multiple of 512 (AoE serves 512-byte sectors)");
    }
    return new ValidatedSlot(id, shelf, iface, origin, sizeBytes, cow.backendOrDefault(), chunk, spec.writeCacheOrDefault(),
        exportMacs(spec, iface), links.bindFor(iface, shelf, id.slot()));
  }

  /**
   * vblade's {@code -m} list for the slot: its client MACs (spec.allowedMacs, normalised) and, so
   * that this agent's duplicate-exporter and health probes (sent from the interface's own MAC by
   * {@link io.cowherd.agent.export.AoeSegmentProbe}) are still answered, the interface's MAC. Empty
   * when the slot has no client MAC. When the interface is missing its MAC is unknown: the list
   * then holds the clients only, and the slot is re-validated (and the exporter restarted with
   * the full list) once the interface is back.
   *
   * @throws InvalidSlotException when a MAC is malformed or there are more than 31
   */
  private List<String> exportMacs(AoeBootSlotSpec spec, String iface) {
    List<String> clients = spec.allowedMacsOrEmpty();
    if (clients.isEmpty()) {
      return List.of();
    }
    if (clients.size() > AoeBootSlotSpec.MAX_ALLOWED_MACS) {
      throw new InvalidSlotException("allowedMacs holds " + clients.size() + " MACs; at most "
          + AoeBootSlotSpec.MAX_ALLOWED_MACS + " (vblade keeps 32, the agent's own takes one)");
    }
    java.util.LinkedHashSet<String> macs = new java.util.LinkedHashSet<>();
    for (String mac : clients) {
      macs.add(MacAddress.parse(mac).orElseThrow(() -> new InvalidSlotException("allowedMacs: '" + mac
          + "' is not a unicast MAC in colon form")).value());
    }
    new NetLinks(sysRoot).address(iface).flatMap(MacAddress::parse).ifPresent(own -> macs.add(own.value()));
    return List.copyOf(macs);
  }

  /**
   * Checks {@code spec.capture}, the path of a new origin file to write: absolute, no {@code ..}
   * segment, its directory exists and its real path (symlinks resolved) lies under an allowed
   * image root, and nothing exists at the path yet (a dangling symlink counts). Reads only.
   *
   * @return the path to create: the directory's real path plus the file name
   * @throws InvalidSlotException naming the first problem found
   */
  public Path captureTarget(String capture) {
    Path given = absoluteWithoutDotDot(capture, "capture");
    if (given.getFileName() == null) {
      throw new InvalidSlotException("capture " + capture + " names no file");
    }
    Path dir;
    try {
      dir = given.getParent().toRealPath();
    } catch (IOException e) {
      throw new InvalidSlotException("capture " + capture + ": directory " + given.getParent()
          + " does not exist on this node or cannot be resolved");
    }
    Path target = dir.resolve(given.getFileName());
    String name = given.getFileName().toString();
    if (name.endsWith(PARTIAL_SUFFIX)) {
      throw new InvalidSlotException("capture " + capture + ": names ending in " + PARTIAL_SUFFIX
          + " are reserved for the hidden file a capture copies into");
    }
    if (capturePartial(target).getFileName().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
        > NAME_MAX) {
      throw new InvalidSlotException("capture " + capture + ": file name is too long (the partial file '."
          + "<name>" + PARTIAL_SUFFIX + "' must fit in " + NAME_MAX + " bytes)");
    }
    if (realRoots().stream().noneMatch(root -> target.startsWith(root) && !target.equals(root))) {
      throw new InvalidSlotException("capture " + capture + " (real path " + target
          + ") is not under an allowed image root " + imageRoots);
    }
    if (Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      throw new InvalidSlotException("capture " + capture + " exists already; a capture never overwrites a file:"
          + " choose a new name");
    }
    return target;
  }

  /**
   * The hidden file a capture to {@code target} copies into before linking it in place: {@code
   * .<name>.capture-partial} in the same directory (same file system, so link(2) works). The
   * suffix is reserved: {@link #validate} refuses it as an image and {@link #captureTarget} as a
   * target, so a capture that removes a partial left by a crash never removes an origin.
   */
  public static Path capturePartial(Path target) {
    return target.resolveSibling("." + target.getFileName() + PARTIAL_SUFFIX);
  }

  private static Path absoluteWithoutDotDot(String value, String field) {
    Path given;
    try {
      given = Path.of(value);
    } catch (java.nio.file.InvalidPathException e) {
      // the CRD forbids NUL; a spec that slipped past it is a spec error, not a reconcile crash
      throw new InvalidSlotException(field + " is not a valid path: " + e.getReason());
    }
    if (!given.isAbsolute()) {
      throw new InvalidSlotException(field + " " + value + " is not an absolute path");
    }
    for (Path part : given) {
      if (part.toString().equals("..")) {
        throw new InvalidSlotException(field + " " + value + " must not contain a '..' path segment");
      }
    }
    return given;
  }

  private Path checkImage(String image) {
    Path given = absoluteWithoutDotDot(image, "image");
    Path real;
    try {
      real = given.toRealPath();
    } catch (NoSuchFileException e) {
      throw new InvalidSlotException("image " + image + " does not exist on this node");
    } catch (IOException e) {
      throw new InvalidSlotException("image " + image + " cannot be resolved: " + e.getMessage());
    }
    List<Path> roots = realRoots();
    if (roots.stream().noneMatch(root -> real.startsWith(root) && !real.equals(root))) {
      throw new InvalidSlotException("image " + image + " (real path " + real + ") is not under an allowed image root "
          + imageRoots);
    }
    if (real.getFileName().toString().endsWith(PARTIAL_SUFFIX)) {
      throw new InvalidSlotException("image " + image + " (real path " + real + ") is a capture's partial file"
          + " (in progress or left by a crash), not an origin");
    }
    if (!Files.isRegularFile(real) && !isBlockDevice(real)) {
      throw new InvalidSlotException("image " + real + " is neither a regular file nor a block device");
    }
    if (!Files.isReadable(real)) {
      throw new InvalidSlotException("image " + real + " is not readable by the agent");
    }
    return real;
  }

  private List<Path> realRoots() {
    List<Path> roots = new ArrayList<>();
    for (Path root : imageRoots) {
      try {
        roots.add(root.toRealPath());
      } catch (IOException e) {
        LOG.debug("image root {} does not resolve on this node and admits nothing: {}", root, e.getMessage());
      }
    }
    return roots;
  }

  private long sizeBytes(Path origin) {
    try {
      if (!isBlockDevice(origin)) {
        return Files.size(origin);
      }
      long rdev = ((Number) Files.getAttribute(origin, "unix:rdev")).longValue();
      long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
      long minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
      Path sectors = sysRoot.resolve("dev/block").resolve(major + ":" + minor).resolve("size");
      return Long.parseLong(Files.readString(sectors).strip()) * 512;
    } catch (IOException | NumberFormatException e) {
      throw new InvalidSlotException("cannot read the size of image " + origin + ": " + e.getMessage());
    }
  }

  private static boolean isBlockDevice(Path p) {
    try {
      int mode = (Integer) Files.getAttribute(p, "unix:mode");
      return (mode & S_IFMT) == S_IFBLK;
    } catch (IOException e) {
      return false;
    }
  }

  private static <T> T require(T value, String field) {
    if (value == null) {
      throw new InvalidSlotException("spec." + field + " is missing");
    }
    return value;
  }
}
