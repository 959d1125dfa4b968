package io.cowherd.e2e.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A cowherd component (operator or node agent) run as a separate JVM from its jar, as in
 * production, with its output in a log file.
 */
public final class ManagedProcess implements AutoCloseable {
  private final String name;
  private final Process process;
  private final Path log;

  private ManagedProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
  }

  /**
   * Starts {@code java -jar jar args…} with {@code env} added to this process's environment; stdout
   * and stderr go to {@code log}. JVM options: see {@link #jvmOptions}.
   */
  public static ManagedProcess startJar(String name, Path jar, List<String> args, Map<String, String> env, Path log) {
    return startJar(name, jar, List.of(), args, env, log);
  }

  /**
   * Like {@link #startJar(String, Path, List, Map, Path)} with {@code extraJvmOptions} after the
   * usual ones (for example {@code -XX:AOTCache=FILE}).
   */
  public static ManagedProcess startJar(String name, Path jar, List<String> extraJvmOptions, List<String> args,
      Map<String, String> env, Path log) {
    return startJar(name, List.of(), jar, extraJvmOptions, args, env, log);
  }

  /**
   * Like {@link #startJar(String, Path, List, List, Map, Path)}, the {@code java} command run by
   * {@code launcher} (an argv prefix that execs its arguments in place, so that {@link #pid()} and
   * {@link #kill()} still reach the JVM: e.g. {@code ip netns exec NS}).
   */
  public static ManagedProcess startJar(String name, List<String> launcher, Path jar, List<String> extraJvmOptions,
      List<String> args, Map<String, String> env, Path log) {
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " is missing: build with ./mvnw package first");
    }
    List<String> argv = new ArrayList<>(launcher);
    argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    argv.addAll(jvmOptions(jar));
    argv.addAll(extraJvmOptions);
    argv.add("-jar");
    argv.add(jar.toString());
    argv.addAll(args);
    return start(name, argv, env, log);
  }

  /**
   * The JVM options for {@code jar}: with the system property {@value #IMAGE_JVM_OPTIONS} set to
   * {@code true} (the benchmark), the image's own argfile {@code
   * hack/images/<jar name without .jar>.jvm-options} (what the container entrypoint passes); else a
   * roomy heap for tests.
   */
  public static List<String> jvmOptions(Path jar) {
    if (Boolean.getBoolean(IMAGE_JVM_OPTIONS)) {
      String stem = jar.getFileName().toString().replaceFirst("\\.jar$", "");
      Path argfile = Lab.findRepo().resolve("hack/images").resolve(stem + ".jvm-options");
      if (!Files.isRegularFile(argfile)) {
        throw new IllegalStateException(IMAGE_JVM_OPTIONS + ": no " + argfile);
      }
      return List.of("--enable-native-access=ALL-UNNAMED", "@" + argfile);
    }
    return List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xmx384m");
  }

  /** System property: run cowherd's JVMs with the images' JVM options ({@link #jvmOptions}). */
  public static final String IMAGE_JVM_OPTIONS = "cowherd.lab.image-jvm-options";

  /**
   * Starts any long-running program {@code argv} (a daemon such as containerd or kubelet) with
   * {@code env} added to this process's environment; stdout and stderr go to {@code log}.
   */
  public static ManagedProcess start(String name, List<String> argv, Map<String, String> env, Path log) {
    ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(env);
    try {
      Files.createDirectories(log.getParent());
      return new ManagedProcess(name, pb.start(), log);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name, e);
    }
  }

  /** The JVM's process id. */
  public long pid() {
    return process.pid();
  }

  /**
   * CPU seconds used so far by the process and its children it has waited for ({@link
   * ProcStat#secondsWithChildren}).
   *
   * @throws UncheckedIOException when the process is gone
   */
  public double cpuSeconds() {
    try {
      return ProcStat.of(process.pid()).secondsWithChildren();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read /proc/" + process.pid() + "/stat of " + name, e);
    }
  }


  /** True while the process runs. */
  public boolean isAlive() {
    return process.isAlive();
  }

  /** The log file. */
  public Path log() {
    return log;
  }

  /**
   * Waits until the log contains {@code marker} (the component's own "started" line), so that
   * measurements start once its informers are synced.
   *
   * @throws IllegalStateException if the process exits first or {@code limit} passes
   */
  public void awaitLogLine(String marker, Duration limit) {
    org.awaitility.Awaitility.await(name + " to log '" + marker + "'")
        .atMost(limit)
        .pollInterval(Duration.ofMillis(100))
        .failFast(name + " exited; see " + log, () -> !process.isAlive())
        .until(() -> Files.readString(log).contains(marker));
  }

  /** Kills the process at once (SIGKILL), as a crash would, and waits for it to be gone. */
  public void kill() {
    process.destroyForcibly();
    waitGone(Duration.ofSeconds(10));
  }

  /** Stops the process with SIGTERM, then SIGKILL after {@code grace}. */
  public void stop(Duration grace) {
    process.destroy();
    if (!waitGone(grace)) {
      kill();
    }
  }

  private boolean waitGone(Duration limit) {
    try {
      return process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      stop(Duration.ofSeconds(10));
    }
  }

  @Override
  public String toString() {
    return name + "[pid " + process.pid() + ", log " + log + "]";
  }
}
