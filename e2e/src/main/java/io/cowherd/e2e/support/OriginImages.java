package io.cowherd.e2e.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Random;

/** Makes origin disk images for tests and the demo. */
public final class OriginImages {
  private OriginImages() {}

  /**
   * Writes an ext4 filesystem image of {@code sizeMiB} MiB (a whole number of 512-byte sectors)
   * holding a README and a file of seeded pseudo-random bytes, built with {@code mkfs.ext4 -d} (no
   * mount needed).
   *
   * @return the image path
   */
  public static Path ext4(Path image, int sizeMiB, long seed) {
    try {
      Path content = Files.createTempDirectory("cowherd-image-content");
      Files.writeString(content.resolve("README"), "This is a cowherd origin image.\n");
      byte[] data = new byte[1 << 20];
      new Random(seed).nextBytes(data);
      Files.write(content.resolve("random.bin"), data);
      Files.deleteIfExists(image);
      Commands.run("mkfs.ext4", "-q", "-F", "-L", "cowherd-origin", "-E", "root_owner=0:0",
          "-d", content.toString(), image.toString(), sizeMiB + "M");
      Files.delete(content.resolve("README"));
      Files.delete(content.resolve("random.bin"));
      Files.delete(content);
      return image;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Copies {@code template} (for example a bootable image) to {@code image}, replacing it.
   *
   * @return the image path
   */
  public static Path copyOf(Path template, Path image) {
    try {
      Files.copy(template, image, StandardCopyOption.REPLACE_EXISTING);
      return image;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy " + template + " to " + image, e);
    }
  }
}
