package io.cowherd.agent.host;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * vblade(8), the AoE target: {@code vblade [-b bufcnt] [-o offset] [-l length] [-d] [-s] [-r] [-m
 * mac[,mac...]] shelf slot netif filename}. Builds the argv cowherd starts (no options) and parses
 * the argv of running processes.
 */
public final class Vblade {
  /** Options of vblade(8) that take a value. */
  private static final String OPTIONS_WITH_VALUE = "bolm";

  private final String program;

  /** @param program the vblade executable (name looked up in PATH, or a path) */
  public Vblade(String program) {
    this.program = program;
  }

  public String program() {
    return program;
  }

  /** The file name processes of this program show as argv[0]'s last element. */
  public String programName() {
    return Path.of(program).getFileName().toString();
  }

  /** argv of the exporter for {@code target}: {@code vblade <shelf> <slot> <iface> <path>}. */
  public List<String> argv(VbladeTarget target) {
    return List.of(program, Integer.toString(target.shelf()), Integer.toString(target.slot()),
        target.iface(), target.path().toString());
  }

  /**
   * Parses a process's argv as vblade's (argv[0] is ignored; the caller matched it).
   *
   * @return the target and options, or empty if the positionals are not {@code shelf slot netif
   *     filename}
   */
  public static Optional<ParsedArgs> parse(List<String> argv) {
    List<String> options = new ArrayList<>();
    int i = 1;
    while (i < argv.size() && argv.get(i).startsWith("-") && argv.get(i).length() > 1) {
      String opt = argv.get(i);
      if (opt.equals("--")) {
        i++;
        break;
      }
      options.add(opt);
      i++;
      for (int c = 1; c < opt.length(); c++) {
        if (OPTIONS_WITH_VALUE.indexOf(opt.charAt(c)) >= 0) {
          if (c == opt.length() - 1 && i < argv.size()) {
            options.add(argv.get(i++));
          }
          break;
        }
      }
    }
    if (argv.size() - i != 4) {
      return Optional.empty();
    }
    try {
      int shelf = Integer.parseInt(argv.get(i));
      int slot = Integer.parseInt(argv.get(i + 1));
      return Optional.of(new ParsedArgs(new VbladeTarget(shelf, slot, argv.get(i + 2), Path.of(argv.get(i + 3))), options));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /**
   * vblade's parsed arguments.
   *
   * @param target positionals
   * @param options options (and their values) before the positionals
   */
  public record ParsedArgs(VbladeTarget target, List<String> options) {
    public ParsedArgs {
      options = List.copyOf(options);
    }
  }
}
