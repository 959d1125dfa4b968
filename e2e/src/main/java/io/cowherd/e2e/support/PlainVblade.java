package io.cowherd.e2e.support;

import io.cowherd.aoe.frame.AoeTarget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A bare {@code vblade} started by hand, without cowherd: the baseline a measurement compares
 * cowherd against, and a stand-in exporter for harness tests. Read-only ({@code vblade -r}), so it
 * may serve an origin image without ever writing it.
 */
public final class PlainVblade implements AutoCloseable {
  private final AoeTarget target;
  private final Process process;

  private PlainVblade(AoeTarget target, Process process) {
    this.target = target;
    this.process = process;
  }

  /**
   * Starts {@code vblade -r <shelf> <slot> <interfaceName> <file>} with its output in {@code log}.
   *
   * @throws UncheckedIOException when vblade cannot be started
   */
  public static PlainVblade startReadOnly(AoeTarget target, String interfaceName, Path file, Path log) {
    List<String> argv = List.of("vblade", "-r", Integer.toString(target.shelf()), Integer.toString(target.slot()),
        interfaceName, file.toString());
    try {
      Files.createDirectories(log.getParent());
      Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      return new PlainVblade(target, p);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + argv, e);
    }
  }

  /** The target it exports. */
  public AoeTarget target() {
    return target;
  }

  /** True while vblade runs. */
  public boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
