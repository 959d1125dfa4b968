package io.cowherd.agent.host;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Serializes one kind of host change across the node: a {@link ReentrantLock} for the threads of
 * this JVM, and, when a lock file is given, an exclusive {@code flock(2)}-style lock on it for
 * every process on the node that uses the same file (a restarted agent still winding down, a
 * second agent). Used around loop device allocation, where two {@code losetup --find} runs may
 * pick the same free device.
 */
public final class NodeLock {
  private final Path file;
  private final ReentrantLock local = new ReentrantLock();

  private NodeLock(Path file) {
    this.file = file;
  }

  /** A lock held through {@code file} (created if missing) by every process that uses it. */
  public static NodeLock onFile(Path file) {
    return new NodeLock(file);
  }

  /** A lock among this JVM's threads only (for tests with a fake command runner). */
  public static NodeLock inProcess() {
    return new NodeLock(null);
  }

  /**
   * Runs {@code action} holding the lock.
   *
   * @throws UncheckedIOException if the lock file cannot be opened or locked
   */
  public <T> T call(Supplier<T> action) {
    local.lock();
    try {
      if (file == null) {
        return action.get();
      }
      Files.createDirectories(file.getParent());
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          FileLock held = channel.lock()) {
        return action.get();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot lock " + file + ": " + e.getMessage(), e);
    } finally {
      local.unlock();
    }
  }

  @Override
  public String toString() {
    return file == null ? "in-process lock" : "node lock " + file;
  }
}
