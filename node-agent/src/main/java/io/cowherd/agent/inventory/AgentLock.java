package io.cowherd.agent.inventory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node agent per state dir: an exclusive lock ({@link FileChannel#tryLock()}, an {@code
 * fcntl(2)} record lock on Linux) on {@code <stateDir>/}{@value #FILE_NAME}, held for the agent's
 * life and released by the kernel when the process ends, however it ends. The holder writes its
 * pid into the file so a second agent can name it. Two agents on one node would both start
 * exporters of the same targets: duplicates that corrupt client data.
 */
public final class AgentLock implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AgentLock.class);
  /** Lock file name in the state dir. */
  public static final String FILE_NAME = ".cowherd-agent.lock";

  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;

  private AgentLock(Path file, FileChannel channel, FileLock lock) {
    this.file = file;
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the lock without waiting and writes this process's pid into the file.
   *
   * @param stateDir the agent's state dir (created if missing)
   * @throws AgentLockedException if another process (or this one) holds it; the message names the
   *     holder's pid as written in the file
   * @throws UncheckedIOException if the file cannot be created, locked or written
   */
  public static AgentLock acquire(Path stateDir) {
    Path file = stateDir.resolve(FILE_NAME);
    FileChannel channel = null;
    try {
      Files.createDirectories(stateDir);
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null; // held by this JVM already
      }
      if (lock == null) {
        String holder = holder(channel);
        channel.close();
        throw new AgentLockedException("another cowherd node agent (pid " + holder + ") holds " + file
            + ": only one agent may serve a node's state dir (two would start duplicate exporters); stop it first");
      }
      long pid = ProcessHandle.current().pid();
      channel.truncate(0);
      channel.write(ByteBuffer.wrap((pid + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
      channel.force(false);
      LOG.info("holding the node agent lock {} (pid {})", file, pid);
      return new AgentLock(file, channel, lock);
    } catch (IOException e) {
      closeQuietly(channel);
      throw new UncheckedIOException("cannot take the node agent lock " + file + ": " + e.getMessage(), e);
    }
  }

  /** The lock file. */
  public Path file() {
    return file;
  }

  /** Releases the lock (the file stays; its content is stale until the next holder writes). */
  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException e) {
      LOG.debug("releasing {}: {}", file, e.toString());
    }
    closeQuietly(channel);
  }

  private static String holder(FileChannel channel) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(32);
    channel.read(buf, 0);
    String text = new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII).strip();
    return text.isEmpty() ? "unknown" : text;
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel == null) {
      return;
    }
    try {
      channel.close();
    } catch (IOException e) {
      LOG.debug("closing lock file channel: {}", e.toString());
    }
  }
}
