package io.cowherd.e2e.kernel.guest;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Reads and writes block devices with {@code O_DIRECT}, so every read reaches the device (no page
 * cache left over from an earlier read through another path) and every write has reached it when
 * the call returns. Offsets and lengths are in bytes and must be multiples of 512.
 */
final class BlockIo {
  private static final int ALIGN = 4096;
  /** Size of one direct transfer. */
  static final int CHUNK_BYTES = 1 << 20;

  private BlockIo() {}

  /** Reads {@code lengthBytes} at {@code offsetBytes}. */
  static byte[] read(Path device, long offsetBytes, int lengthBytes) {
    byte[] out = new byte[lengthBytes];
    try (FileChannel ch = FileChannel.open(device, StandardOpenOption.READ, ExtendedOpenOption.DIRECT)) {
      ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_BYTES + ALIGN).alignedSlice(ALIGN);
      int done = 0;
      while (done < lengthBytes) {
        buf.clear().limit(Math.min(CHUNK_BYTES, lengthBytes - done));
        while (buf.hasRemaining()) {
          if (ch.read(buf, offsetBytes + done + buf.position()) < 0) {
            throw new IllegalStateException(device + " ended at byte " + (offsetBytes + done + buf.position()));
          }
        }
        buf.flip().get(out, done, buf.remaining());
        done += buf.limit();
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + device + " at byte " + offsetBytes + ": " + e.getMessage(), e);
    }
  }

  /** Writes {@code data} at {@code offsetBytes} and returns once the device has it. */
  static void write(Path device, long offsetBytes, byte[] data) {
    try (FileChannel ch = FileChannel.open(device, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT)) {
      ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_BYTES + ALIGN).alignedSlice(ALIGN);
      int done = 0;
      while (done < data.length) {
        int n = Math.min(CHUNK_BYTES, data.length - done);
        buf.clear();
        buf.put(data, done, n).flip();
        while (buf.hasRemaining()) {
          ch.write(buf, offsetBytes + done + buf.position());
        }
        done += n;
      }
      ch.force(true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + device + " at byte " + offsetBytes + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads all of {@code device} and compares it with {@code expected}.
   *
   * @return the byte offset of the first 512-byte sector that differs, or -1 if none does
   */
  static long firstDifference(Path device, byte[] expected) {
    try (FileChannel ch = FileChannel.open(device, StandardOpenOption.READ, ExtendedOpenOption.DIRECT)) {
      ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_BYTES + ALIGN).alignedSlice(ALIGN);
      byte[] chunk = new byte[CHUNK_BYTES];
      long pos = 0;
      while (pos < expected.length) {
        int n = (int) Math.min(CHUNK_BYTES, expected.length - pos);
        buf.clear().limit(n);
        while (buf.hasRemaining()) {
          if (ch.read(buf, pos + buf.position()) < 0) {
            return pos + buf.position();
          }
        }
        buf.flip().get(chunk, 0, n);
        int mismatch = Arrays.mismatch(chunk, 0, n, expected, (int) pos, (int) pos + n);
        if (mismatch >= 0) {
          return pos + mismatch / 512 * 512;
        }
        pos += n;
      }
      return -1;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + device + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads {@code lengthBytes} from the start of {@code device} in {@link #CHUNK_BYTES} direct
   * reads, discarding the data.
   *
   * @return bytes per second
   */
  static double readThroughput(Path device, long lengthBytes) {
    try (FileChannel ch = FileChannel.open(device, StandardOpenOption.READ, ExtendedOpenOption.DIRECT)) {
      ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_BYTES + ALIGN).alignedSlice(ALIGN);
      long started = System.nanoTime();
      long pos = 0;
      while (pos < lengthBytes) {
        buf.clear().limit((int) Math.min(CHUNK_BYTES, lengthBytes - pos));
        while (buf.hasRemaining()) {
          if (ch.read(buf, pos + buf.position()) < 0) {
            throw new IllegalStateException(device + " ended at byte " + (pos + buf.position()));
          }
        }
        pos += buf.limit();
      }
      return lengthBytes / ((System.nanoTime() - started) / 1e9);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + device + ": " + e.getMessage(), e);
    }
  }
}
