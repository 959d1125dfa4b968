package io.cowherd.e2e.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * The command name and CPU times of one {@code /proc/<pid>/stat} or {@code /proc/<pid>/task/<tid>/stat}
 * (proc(5): fields 2 and 14-17, utime, stime, cutime, cstime), in clock ticks of 1/{@value
 * #CLOCK_TICKS} s (USER_HZ on Linux x86-64). The one parser of those files for the labs and
 * benchmarks.
 *
 * @param name the command name (field 2, without its parentheses; it may hold spaces)
 * @param utime user time of the process or thread
 * @param stime system time of the process or thread
 * @param cutime user time of the children it has waited for
 * @param cstime system time of the children it has waited for
 */
public record ProcStat(String name, long utime, long stime, long cutime, long cstime) {
  /** Clock ticks per second of these times. */
  public static final int CLOCK_TICKS = 100;

  /**
   * Reads process {@code pid}'s stat.
   *
   * @throws IOException when it cannot be read (the process is gone)
   */
  public static ProcStat of(long pid) throws IOException {
    return read(Path.of("/proc", Long.toString(pid), "stat"));
  }

  /**
   * The stat of each thread of process {@code pid}, by thread id; a thread that ends while they
   * are read is left out.
   *
   * @throws IOException when the process's task directory cannot be listed (the process is gone)
   */
  public static Map<Long, ProcStat> threads(long pid) throws IOException {
    Map<Long, ProcStat> threads = new TreeMap<>();
    try (var tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path task : tasks) {
        try {
          threads.put(Long.parseLong(task.getFileName().toString()), read(task.resolve("stat")));
        } catch (IOException e) {
          // thread ended
        }
      }
    }
    return threads;
  }

  /**
   * Parses one stat file.
   *
   * @throws IOException when it cannot be read
   */
  public static ProcStat read(Path stat) throws IOException {
    String line = Files.readString(stat);
    int close = line.lastIndexOf(')'); // the command name may hold spaces and parentheses
    // Fields after the name: state is field 3 (index 0 here), utime field 14 (index 11).
    String[] f = line.substring(close + 2).split(" ");
    return new ProcStat(line.substring(line.indexOf('(') + 1, close), Long.parseLong(f[11]), Long.parseLong(f[12]),
        Long.parseLong(f[13]), Long.parseLong(f[14]));
  }

  /** User plus system ticks of the process or thread itself. */
  public long ownTicks() {
    return utime + stime;
  }

  /** User plus system ticks of the children it has waited for. */
  public long childTicks() {
    return cutime + cstime;
  }

  /** CPU seconds of the process and of the children it has waited for. */
  public double secondsWithChildren() {
    return (ownTicks() + childTicks()) / (double) CLOCK_TICKS;
  }
}
