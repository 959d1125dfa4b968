package io.cowherd.agent.host;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * vblade(8), the AoE target: {@code vblade [-b bufcnt] [-o offset] [-l length] [-d] [-s] [-r] [-m
 * mac[,mac...]] shelf slot netif filename}. Builds the argv cowherd starts ({@link #argv}, the only
 * place it is built) and parses the argv of running processes.
 *
 * <p>Durable by default: {@code -s} opens the exported file or device with O_SYNC (vblade(8): "all
 * writes are committed to disk before returning to the client"), so each write is on the disk,
 * through every layer below (dm-snapshot, loop, filesystem), before its ATA response is sent.
 * Needed because vblade 25 answers ATA FLUSH CACHE (0xE7) with success without flushing anything
 * ({@code ata.c}): without {@code -s} a client's fsync guarantees nothing. A target with {@link
 * VbladeTarget#writeCache()} gets no {@code -s}.
 *
 * <p>cowherd passes {@code --} before the positionals: vblade parses its options with getopt(3),
 * so without it an interface name starting with {@code -} would be taken as options (checked
 * with Debian's vblade 25: {@code vblade -- 9 3 -x f} reports "-x: No such device", while {@code
 * vblade 9 3 -x f} fails with "invalid option"). Validation rejects such names anyway.
 */
public final class Vblade {
  /** Options of vblade(8) that take a value. */
  private static final String OPTIONS_WITH_VALUE = "bolm";
  /** One MAC as vblade's -m takes it, six hex pairs joined by ':'; never a shelf, slot, interface or path here. */
  private static final java.util.regex.Pattern MASK_CONTINUATION =
      java.util.regex.Pattern.compile("[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}");

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

  /**
   * argv of the exporter for {@code target}: {@code vblade -s [-m mac,mac...] -- <shelf> <slot>
   * <link> <path>} ({@link VbladeTarget#link()}: the NIC or the exporter's own macvlan), without {@code -s} when the target has a write cache, without {@code -m} when
   * it serves every sender (vblade(8): "-m mac[,mac...] Specify a list of MAC addresses to which
   * vblade should respond"; every other sender is ignored, broadcasts included).
   */
  public List<String> argv(VbladeTarget target) {
    List<String> argv = new ArrayList<>();
    argv.add(program);
    argv.addAll(options(target));
    argv.addAll(List.of("--", Integer.toString(target.shelf()), Integer.toString(target.slot()),
        target.link(), target.path().toString()));
    return List.copyOf(argv);
  }

  /**
   * argv that starts the exporter for {@code target}: {@code setsid --fork -- } and {@link #argv}.
   * setsid(1) (util-linux) forks, the parent exits at once, and the child calls setsid(2) and execs
   * vblade: the exporter is not the agent's child (the JDK keeps no reaper thread for it, and the
   * kernel reparents it to the nearest subreaper or init, not to anything that ends with the agent),
   * and it leads its own session and process group, so no signal to the agent's process group or
   * terminal reaches it. Its pid is then found by its argv ({@link VbladeProcesses#findStarted}).
   */
  public List<String> spawnArgv(VbladeTarget target) {
    List<String> spawn = new ArrayList<>(List.of("setsid", "--fork", "--"));
    spawn.addAll(argv(target));
    return List.copyOf(spawn);
  }

  /**
   * The options cowherd passes for {@code target}: {@code [-s]} when durable (none with a write
   * cache), then {@code [-m <mac>,<mac>...]} when it has a MAC list.
   */
  public static List<String> options(VbladeTarget target) {
    List<String> options = new ArrayList<>();
    if (!target.writeCache()) {
      options.add("-s");
    }
    if (!target.macs().isEmpty()) {
      options.add("-m");
      options.add(String.join(",", target.macs()));
    }
    return List.copyOf(options);
  }

  /**
   * Parses a process's argv as vblade's (argv[0] is ignored; the caller matched it), the way GNU
   * getopt(3) does: options may stand anywhere before a {@code --} (getopt permutes), and {@code
   * --} ends the options without being reported as one. So {@code vblade -s -- 7 3 eth1 f} (what
   * cowherd starts), {@code vblade 7 3 eth1 f} (what earlier agents started) and {@code vblade 7 3
   * eth1 f -r} (options last) are all recognised. The target's {@link VbladeTarget#writeCache()} is
   * true unless an option cluster holds the flag {@code s} ({@code -s}, {@code -ds}); its {@link
   * VbladeTarget#macs()} are the value of the last {@code -m} ({@code -m a,b} or {@code -ma,b}),
   * lower-cased, or empty. A running vblade 25 shows {@code -m a,b} as {@code -m a b} (it writes
   * NUL over each comma of its own argv while parsing the list; seen in /proc/<pid>/cmdline here),
   * so MACs right after the value are joined back to it.
   *
   * @return the target and options, or empty if there are not four positionals {@code shelf slot
   *     netif filename} or the file name is no path (shelf and slot are read as vblade reads them,
   *     {@link #atoi}); never throws, whatever {@code argv} holds
   */
  public static Optional<ParsedArgs> parse(List<String> argv) {
    List<String> options = new ArrayList<>();
    List<String> positionals = new ArrayList<>();
    boolean sync = false;
    List<String> macs = List.of();
    int i = 1;
    while (i < argv.size()) {
      String arg = argv.get(i++);
      if (arg.equals("--")) {
        positionals.addAll(argv.subList(i, argv.size()));
        break;
      }
      if (!arg.startsWith("-") || arg.length() == 1) {
        positionals.add(arg);
        continue;
      }
      options.add(arg);
      for (int c = 1; c < arg.length(); c++) {
        sync |= arg.charAt(c) == 's';
        if (OPTIONS_WITH_VALUE.indexOf(arg.charAt(c)) >= 0) {
          String value = null;
          boolean separate = c == arg.length() - 1 && i < argv.size();
          if (separate) {
            value = argv.get(i++);
          } else if (c < arg.length() - 1) {
            value = arg.substring(c + 1);
          }
          if (arg.charAt(c) == 'm' && value != null) {
            // vblade 25 cuts its own -m argument at each ',' in place (setmask writes NUL there), so
            // /proc/<pid>/cmdline shows "-m a,b" as "-m" "a" "b": the MACs that follow belong to it.
            StringBuilder joined = new StringBuilder(value);
            while (i < argv.size() && MASK_CONTINUATION.matcher(argv.get(i)).matches()) {
              joined.append(',').append(argv.get(i++));
            }
            value = joined.toString();
            macs = java.util.Arrays.stream(value.split(",")).map(m -> m.toLowerCase(java.util.Locale.ROOT)).toList();
            if (!separate) {
              options.set(options.size() - 1, arg.substring(0, c + 1) + value);
            }
          }
          if (separate) {
            options.add(value);
          }
          break;
        }
      }
    }
    if (positionals.size() != 4) {
      return Optional.empty();
    }
    try {
      int shelf = atoi(positionals.get(0));
      int slot = atoi(positionals.get(1));
      return Optional.of(new ParsedArgs(
          new VbladeTarget(shelf, slot, positionals.get(2), Path.of(positionals.get(3)), !sync, macs), options));
    } catch (InvalidPathException e) {
      return Optional.empty(); // a file name no path can hold
    } catch (IllegalArgumentException e) {
      return Optional.empty(); // more -m MACs than vblade keeps: not an exporter cowherd started
    }
  }

  /**
   * The number vblade itself makes of a shelf or slot argument: it calls atoi(3), which is {@code
   * (int) strtol(s, NULL, 10)} (C11 7.22.1.4): leading white space skipped, an optional sign, then
   * decimal digits up to the first other character; no digits is 0; a value beyond {@code long} is
   * clamped, then the low 32 bits are kept. So {@code "9abc"}, {@code " 9"} and {@code "009"} all
   * make a vblade that serves shelf 9, and a scan must see them as such (a stricter parse would
   * hide a process that claims our address). Total: never throws.
   */
  static int atoi(String s) {
    int i = 0;
    while (i < s.length() && " \t\n\u000b\f\r".indexOf(s.charAt(i)) >= 0) {
      i++;
    }
    boolean negative = false;
    if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
      negative = s.charAt(i) == '-';
      i++;
    }
    long value = 0;
    boolean clamped = false;
    for (; i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9'; i++) {
      int digit = s.charAt(i) - '0';
      if (!clamped && value > (Long.MAX_VALUE - digit) / 10) {
        clamped = true; // strtol: ERANGE, LONG_MAX (LONG_MIN when negative)
      }
      if (!clamped) {
        value = value * 10 + digit;
      }
    }
    long result = clamped ? (negative ? Long.MIN_VALUE : Long.MAX_VALUE) : (negative ? -value : value);
    return (int) result;
  }

  /**
   * vblade's parsed arguments.
   *
   * @param target positionals
   * @param options options (and their values), wherever they stood before {@code --}
   */
  public record ParsedArgs(VbladeTarget target, List<String> options) {
    public ParsedArgs {
      options = List.copyOf(options);
    }
  }
}
