package io.cowherd.e2e.support;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The bootable origin image that {@code hack/make-boot-image.sh} builds (SYSLINUX MBR, a FAT
 * partition with SYSLINUX for BIOS, systemd-boot as {@code EFI/BOOT/BOOTX64.EFI} for UEFI, Debian's
 * kernel and a busybox initramfs that loads {@code aoe}), cached between
 * runs, and the client marker its initramfs keeps on every client's disk.
 *
 * <p>Layout the script documents and this class relies on: the last {@link #MARKER_AREA_SECTORS}
 * sectors of the disk lie outside every partition; a client keeps one text line, {@code
 * COWHERD-CLIENT-MARKER target=e<shelf>.<slot> mac=<mac> boot=<n>}, zero-padded, in the first
 * sector of that area.
 */
public final class BootImage {
  /** Sectors (512 bytes) at the end of the disk reserved for client markers: 1 MiB. */
  public static final int MARKER_AREA_SECTORS = 2048;
  /** Bytes per sector. */
  public static final int SECTOR_BYTES = 512;
  /** Sectors before the FAT partition that holds SYSLINUX, the kernel and the initramfs: 1 MiB. */
  public static final int PARTITION_START_SECTORS = 2048;
  /** Kernel parameter that {@link #copyWithOriginLabel} sets; the kernel prints it on the console. */
  public static final String ORIGIN_LABEL_PARAM = "cowherd.origin=";
  /** Time limit for the build, which may install Debian packages first. */
  public static final Duration BUILD_TIMEOUT = Duration.ofMinutes(15);

  private BootImage() {}

  /**
   * Returns the cached bootable image of {@code sizeMiB} MiB, building it with {@code
   * hack/make-boot-image.sh} when it is missing or out of date (the script decides; a second call
   * does nothing). The cache directory is {@code $COWHERD_CACHE_DIR/boot-image}, default {@code
   * ~/.cache/cowherd/boot-image}.
   *
   * @throws Commands.CommandException when the script fails (its stderr is in the message)
   */
  public static Path cached(Path repo, int sizeMiB) {
    Path image = cacheDir().resolve("cowherd-boot-" + sizeMiB + "MiB.img");
    Commands.run(BUILD_TIMEOUT, repo.resolve("hack/make-boot-image.sh").toString(), image.toString(),
        Integer.toString(sizeMiB));
    return image;
  }

  /**
   * Like {@link #cached(Path, int)}, but its clients run the initramfs's write-and-verify loop after
   * their marker instead of powering off ({@code COWHERD_BOOT_AFTER=writeloop}): one console line
   * {@code COWHERD-IO <n> ok sector=<s>} (or {@code COWHERD-IO-ERROR <n> ...}) per 512-byte block
   * {@code COWHERD-BLOCK target=<target> n=<n>}, written with fsync and read back, at most ten per
   * second, until QEMU stops.
   */
  public static Path cachedWriteLoop(Path repo, int sizeMiB) {
    Path image = cacheDir().resolve("cowherd-boot-" + sizeMiB + "MiB-writeloop.img");
    Commands.Result r = Commands.exec(BUILD_TIMEOUT,
        java.util.List.of(repo.resolve("hack/make-boot-image.sh").toString(), image.toString(), Integer.toString(sizeMiB)),
        java.util.Map.of("COWHERD_BOOT_AFTER", "writeloop"));
    if (!r.ok()) {
      throw new Commands.CommandException("make-boot-image.sh (writeloop) exited " + r.exitCode() + ": " + r.stderr().strip());
    }
    return image;
  }

  /**
   * Copies the boot image {@code source} to the new file {@code target} and labels the copy: every
   * {@code APPEND} line of its {@code syslinux.cfg} (in the FAT partition at sector {@link
   * #PARTITION_START_SECTORS}) gets {@code cowherd.origin=<label>} (replacing a label it had), so a
   * client booted from the copy prints {@code Kernel command line: … cowherd.origin=<label>} (the
   * kernel echoes its command line on the serial console; the initramfs ignores the parameter). The
   * file is changed with mtools ({@code mcopy -i <file>@@<offset>}, no loop mount); {@code source} is
   * only read. This is how a test publishes "the next version" of an origin as a new file.
   *
   * @param label 1 to 32 of {@code [A-Za-z0-9._-]}
   * @return {@code target}
   * @throws IllegalArgumentException for a bad label
   * @throws UncheckedIOException when {@code target} exists or cannot be written
   * @throws Commands.CommandException when mcopy fails
   */
  public static Path copyWithOriginLabel(Path source, Path target, String label) {
    if (!label.matches("[A-Za-z0-9._-]{1,32}")) {
      throw new IllegalArgumentException("origin label must be 1 to 32 of [A-Za-z0-9._-]: " + label);
    }
    String fat = target + "@@" + (long) PARTITION_START_SECTORS * SECTOR_BYTES;
    java.util.Map<String, String> env = java.util.Map.of("MTOOLS_SKIP_CHECK", "1");
    try {
      Files.copy(source, target);
      Path cfg = Files.createTempFile(target.getParent(), ".syslinux", ".cfg");
      try {
        Files.delete(cfg);
        mtools(List.of("mcopy", "-n", "-i", fat, "::/syslinux.cfg", cfg.toString()), env);
        StringBuilder out = new StringBuilder();
        for (String line : Files.readAllLines(cfg, StandardCharsets.US_ASCII)) {
          if (line.strip().startsWith("APPEND ")) {
            line = line.replaceAll(" " + java.util.regex.Pattern.quote(ORIGIN_LABEL_PARAM) + "\\S*", "")
                + " " + ORIGIN_LABEL_PARAM + label;
          }
          out.append(line).append('\n');
        }
        Files.writeString(cfg, out, StandardCharsets.US_ASCII);
        mtools(List.of("mcopy", "-o", "-i", fat, cfg.toString(), "::/syslinux.cfg"), env);
      } finally {
        Files.deleteIfExists(cfg);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot make " + target + " from " + source, e);
    }
    return target;
  }

  private static void mtools(List<String> argv, java.util.Map<String, String> env) {
    Commands.Result r = Commands.exec(Commands.DEFAULT_TIMEOUT, argv, env);
    if (!r.ok()) {
      throw new Commands.CommandException(String.join(" ", argv) + " exited " + r.exitCode() + ": " + r.stderr().strip());
    }
  }

  /** Where built images are kept between runs. */
  public static Path cacheDir() {
    String configured = System.getenv("COWHERD_CACHE_DIR");
    Path base = configured != null && !configured.isBlank()
        ? Path.of(configured)
        : Path.of(System.getProperty("user.home"), ".cache", "cowherd");
    return base.resolve("boot-image");
  }

  /** Sector number of the client marker on a disk of {@code sizeSectors} sectors. */
  public static long markerSector(long sizeSectors) {
    return sizeSectors - MARKER_AREA_SECTORS;
  }

  /**
   * The client marker line stored in {@code disk} (an origin image or a slot's COW store), or
   * empty when the marker sector holds no marker (all zeros on a fresh origin).
   */
  public static Optional<String> readMarker(Path disk) {
    byte[] sector = markerSectorBytes(disk);
    String text = new String(sector, StandardCharsets.US_ASCII);
    int end = text.indexOf('\n');
    String line = end >= 0 ? text.substring(0, end) : text.replace("\0", "");
    return line.startsWith("COWHERD-CLIENT-MARKER") ? Optional.of(line) : Optional.empty();
  }

  /** The raw marker sector of {@code disk}. */
  public static byte[] markerSectorBytes(Path disk) {
    try (RandomAccessFile file = new RandomAccessFile(disk.toFile(), "r")) {
      long sizeSectors = Files.size(disk) / SECTOR_BYTES;
      byte[] sector = new byte[SECTOR_BYTES];
      file.seek(markerSector(sizeSectors) * SECTOR_BYTES);
      file.readFully(sector);
      return sector;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the marker sector of " + disk, e);
    }
  }

  /** The marker line a client with {@code mac} writes on its {@code boot}-th boot from {@code target}. */
  public static String expectedMarker(String target, String mac, int boot) {
    return "COWHERD-CLIENT-MARKER target=" + target + " mac=" + mac + " boot=" + boot;
  }
}
