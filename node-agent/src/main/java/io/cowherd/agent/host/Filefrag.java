package io.cowherd.agent.host;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code filefrag(8)} from e2fsprogs: {@code filefrag -s -v FILE} syncs the file (so delayed
 * allocations and XFS copy-on-write forks are mapped) and prints its FIEMAP extents with flags.
 */
public final class Filefrag implements ExtentReader {
  private static final Pattern SIZE = Pattern.compile("^File size of .* is (\\d+) \\((\\d+) blocks? of (\\d+) bytes\\)", Pattern.MULTILINE);
  private static final Pattern EXTENT = Pattern.compile(
      "^\\s*\\d+:\\s*(\\d+)\\.\\.\\s*\\d+:\\s*(?:\\d+\\.\\.\\s*\\d+:)?\\s*(\\d+):(?:\\s*\\d+:)?\\s*(\\S*)\\s*$");

  private final CommandRunner runner;

  public Filefrag(CommandRunner runner) {
    this.runner = runner;
  }

  /** argv printing the synced extent map of {@code file}. */
  public static HostCommand extentsCommand(Path file) {
    return HostCommand.of("filefrag", "-s", "-v", file.toString());
  }

  /** The extent map of {@code file}. @throws CommandFailedException if filefrag fails */
  @Override
  public FileExtents extents(Path file) {
    return parse(runner.run(extentsCommand(file)).stdout());
  }

  /**
   * Parses {@code filefrag -v} output.
   *
   * @throws IllegalArgumentException if the "File size of" header is missing
   */
  public static FileExtents parse(String output) {
    Matcher size = SIZE.matcher(output);
    if (!size.find()) {
      throw new IllegalArgumentException("filefrag output has no 'File size of' line: " + output.strip());
    }
    long sizeBytes = Long.parseLong(size.group(1));
    long blockBytes = Long.parseLong(size.group(3));
    List<FileExtents.Extent> extents = new ArrayList<>();
    for (String line : output.split("\n")) {
      Matcher m = EXTENT.matcher(line);
      if (m.matches()) {
        Set<String> flags = new HashSet<>();
        if (!m.group(3).isEmpty()) {
          flags.addAll(Arrays.asList(m.group(3).split(",")));
        }
        extents.add(new FileExtents.Extent(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), flags));
      }
    }
    return new FileExtents(sizeBytes, blockBytes, extents);
  }
}
