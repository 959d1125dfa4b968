package io.cowherd.agent.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;

/** Reads the device number a device node (such as {@code /dev/mapper/NAME}) points at. */
public final class DeviceNode {
  private static final int S_IFMT = 0170000;
  private static final int S_IFBLK = 0060000;

  private DeviceNode() {}

  /**
   * The {@code major:minor} of block device node {@code node}, or empty if it does not exist or is
   * not a block device node.
   */
  public static Optional<String> blockMajMin(Path node) {
    try {
      int mode = (Integer) Files.getAttribute(node, "unix:mode", LinkOption.NOFOLLOW_LINKS);
      if ((mode & S_IFMT) != S_IFBLK) {
        return Optional.empty();
      }
      long rdev = ((Number) Files.getAttribute(node, "unix:rdev", LinkOption.NOFOLLOW_LINKS)).longValue();
      // glibc's gnu_dev_major / gnu_dev_minor
      long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
      long minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
      return Optional.of(major + ":" + minor);
    } catch (IOException | UnsupportedOperationException e) {
      return Optional.empty();
    }
  }
}
