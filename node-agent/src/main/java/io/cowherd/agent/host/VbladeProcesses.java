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
 * reported, whoever started it.
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
            .map(a -> new VbladeProcess(Long.parseLong(dir.getFileName().toString()), a.target(), a.options()))
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

  private Optional<Vblade.ParsedArgs> asVblade(List<String> argv) {
    if (argv.isEmpty()) {
      return Optional.empty();
    }
    Path command = Path.of(argv.getFirst()).getFileName(); // null for an argv[0] of "/" (any process may set it)
    if (command == null || !command.toString().equals(programName)) {
      return Optional.empty();
    }
    return Vblade.parse(argv);
  }

  private static Optional<List<String>> readArgv(Path cmdline) {
    try {
      byte[] bytes = Files.readAllBytes(cmdline);
      if (bytes.length == 0) {
        return Optional.empty(); // kernel thread or zombie
      }
      String s = new String(bytes, StandardCharsets.UTF_8);
      if (s.endsWith("\0")) {
        s = s.substring(0, s.length() - 1);
      }
      return Optional.of(Arrays.asList(s.split("\0", -1)));
    } catch (NoSuchFileException e) {
      return Optional.empty(); // exited during the scan
    } catch (IOException e) {
      LOG.debug("cannot read {}: {}", cmdline, e.getMessage());
      return Optional.empty();
    }
  }

  private static boolean isPid(String name) {
    return !name.isEmpty() && name.chars().allMatch(Character::isDigit);
  }
}
