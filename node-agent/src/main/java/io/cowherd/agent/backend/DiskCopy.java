package io.cowherd.agent.backend;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Copies a slot's whole disk (a block device or file of {@code bytes} bytes) into a new regular
 * file, in process: reads 1 MiB at a time and leaves all-zero blocks as holes (the copy of a
 * mostly empty image stays small, as {@code cp --sparse=always} would make it). The destination
 * must not exist (created with O_CREAT|O_EXCL) and is forced to disk (fsync) before returning.
 */
public final class DiskCopy {
  /** Read and hole-detection block, in bytes. */
  static final int BLOCK = 1 << 20;

  private DiskCopy() {}

  /**
   * Copies the first {@code bytes} bytes of {@code source} into {@code dest}.
   *
   * @throws UncheckedIOException when a read or write fails, {@code dest} exists or {@code source}
   *     is shorter than {@code bytes} (a partial {@code dest} is left for the caller to remove)
   */
  public static void sparseCopy(Path source, Path dest, long bytes) {
    ByteBuffer block = ByteBuffer.allocateDirect(BLOCK);
    try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ);
        FileChannel out = FileChannel.open(dest, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      long position = 0;
      while (position < bytes) {
        block.clear().limit((int) Math.min(BLOCK, bytes - position));
        while (block.hasRemaining()) {
          if (in.read(block, position + block.position()) < 0) {
            throw new IOException(source + " ends at byte " + (position + block.position()) + ", before " + bytes);
          }
        }
        block.flip();
        if (!allZero(block)) {
          while (block.hasRemaining()) {
            out.write(block, position + block.position());
          }
        }
        position += block.limit();
      }
      if (out.size() < bytes) { // the tail was zeros: extend with a hole (ftruncate), as FileChannel cannot
        try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(dest.toFile(), "rw")) {
          file.setLength(bytes);
        }
      }
      out.force(true); // data and metadata of the inode, the new length included
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy " + source + " to " + dest + ": " + e.getMessage(), e);
    }
  }

  private static boolean allZero(ByteBuffer block) {
    for (int i = block.position(); i + 8 <= block.limit(); i += 8) {
      if (block.getLong(i) != 0) {
        return false;
      }
    }
    for (int i = block.limit() & ~7; i < block.limit(); i++) {
      if (block.get(i) != 0) {
        return false;
      }
    }
    return true;
  }
}
