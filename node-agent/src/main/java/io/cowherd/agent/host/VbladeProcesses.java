package io.cowherd.agent.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds running vblade processes by reading {@code /proc/<pid>/cmdline} (NUL-separated argv). A
 * process whose argv[0] ends in the vblade program name and whose arguments parse as vblade's is
 * reported, whoever started it. Any other process, whatever its argv (a process may write
 * anything there, e.g. argv[0] {@code /}), is skipped: a scan never throws because of what
 * another process shows.
 */
public final class VbladeProcesses {
  private static final Logger LOG = LoggerFactory.getLogger(VbladeProcesses.class);

  private final Path procRoot;
  private final String programName;

  /**
   * @param procRoot the proc filesystem, normally {@code /proc}
   * @param vblade the vblade program whose processes to find
   */
  public VbladeProcesses(Path procRoot, Vblade vblade) {
    this.procRoot = procRoot;
    this.programName = vblade.programName();
  }

  /** Every vblade process now running (processes that exit during the scan are skipped). */
  public List<VbladeProcess> scan() {
    List<VbladeProcess> found = new ArrayList<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(procRoot, p -> isPid(p.getFileName().toString()))) {
      for (Path dir : dirs) {
        readArgv(dir.resolve("cmdline")).flatMap(this::asVblade)
            .flatMap(a -> pid(dir).map(pid -> new VbladeProcess(pid, a.target(), a.options())))
            .ifPresent(found::add);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot list " + procRoot + ": " + e.getMessage(), e);
    }
    return List.copyOf(found);
  }

  /** Running vblade processes that claim {@code target}'s shelf, slot and interface. */
  public List<VbladeProcess> claiming(VbladeTarget target) {
    return scan().stream().filter(p -> p.target().sameAddress(target)).toList();
  }

  /**
   * The vblade arguments in {@code argv}, or empty if it is not one of our program's. Total: any
   * argv a process can show (empty, {@code /}, empty strings, options only, numbers out of range,
   * paths the JDK refuses) yields a value or empty, never an exception.
   */
  Optional<Vblade.ParsedArgs> asVblade(List<String> argv) {
    if (argv.isEmpty() || !programName.equals(baseName(argv.getFirst()))) {
      return Optional.empty();
    }
    return Vblade.parse(argv);
  }

  /** The last {@code /}-separated element of {@code arg0} ({@code ""} for {@code /}); no {@link Path} parsing. */
  static String baseName(String arg0) {
    String s = arg0;
    while (s.endsWith("/")) {
      s = s.substring(0, s.length() - 1);
    }
    return s.substring(s.lastIndexOf('/') + 1);
  }

  /**
   * Splits a {@code /proc/<pid>/cmdline} image into argv: NUL-separated, the last NUL optional;
   * bytes that are not UTF-8 become U+FFFD (they then match no program or path of ours). Empty
   * content (kernel thread, zombie) is no argv.
   */
  static Optional<List<String>> splitArgv(byte[] bytes) {
    if (bytes.length == 0) {
      return Optional.empty();
    }
    String s = new String(bytes, StandardCharsets.UTF_8);
    if (s.endsWith("\0")) {
      s = s.substring(0, s.length() - 1);
    }
    return Optional.of(Arrays.asList(s.split("\0", -1)));
  }

  private static Optional<List<String>> readArgv(Path cmdline) {
    try {
      return splitArgv(Files.readAllBytes(cmdline));
    } catch (NoSuchFileException e) {
      return Optional.empty(); // exited during the scan
    } catch (IOException e) {
      LOG.debug("cannot read {}: {}", cmdline, e.getMessage());
      return Optional.empty();
    }
  }

  private static Optional<Long> pid(Path dir) {
    try {
      return Optional.of(Long.parseLong(dir.getFileName().toString()));
    } catch (NumberFormatException e) {
      return Optional.empty(); // digits only, but too many for a pid
    }
  }

  private static boolean isPid(String name) {
    return !name.isEmpty() && name.chars().allMatch(Character::isDigit);
  }
}
