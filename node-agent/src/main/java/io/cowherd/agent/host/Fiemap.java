package io.cowherd.agent.host;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A file's extent map by the {@code FS_IOC_FIEMAP} ioctl itself (what {@code filefrag -s -v} calls,
 * without a process per file: issue 11, an agent restart measures every clone once). Source of the
 * interface: the kernel's Documentation/filesystems/fiemap.rst and include/uapi/linux/fiemap.h
 * ({@code struct fiemap}: fm_start u64, fm_length u64, fm_flags u32, fm_mapped_extents u32,
 * fm_extent_count u32, fm_reserved u32, then {@code struct fiemap_extent}: fe_logical,
 * fe_physical, fe_length u64, two reserved u64, fe_flags u32, three reserved u32 = 56 bytes).
 * {@code FIEMAP_FLAG_SYNC} syncs the file first, as {@code filefrag -s}.
 *
 * <p>Extents are reported in bytes ({@link FileExtents#blockBytes()} 1); flags are named as
 * filefrag prints them ({@code shared}, {@code unwritten}, {@code last}, ...), so {@link
 * FileExtents#unsharedBytes()} means the same for both readers. Native calls through {@code
 * java.lang.foreign}; {@link #open} is empty without native access.
 */
@SuppressWarnings("restricted")
public final class Fiemap implements ExtentReader {
  private static final Logger LOG = LoggerFactory.getLogger(Fiemap.class);
  /** {@code _IOWR('f', 11, struct fiemap)}. */
  static final long FS_IOC_FIEMAP = 0xC020660BL;
  static final int FIEMAP_FLAG_SYNC = 0x1;
  static final long FIEMAP_MAX_OFFSET = -1L; // ~0ULL
  private static final int HEADER_BYTES = 32;
  private static final int EXTENT_BYTES = 56;
  /** Extents asked for per ioctl; more are read in further calls. */
  static final int EXTENTS_PER_CALL = 256;
  private static final int O_RDONLY = 0;
  private static final int O_CLOEXEC = 0x80000;
  private static final int EINTR = 4;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

  /** filefrag's names of the FIEMAP extent flags (e2fsprogs misc/filefrag.c), by bit. */
  private static final String[][] FLAG_NAMES = {
      {"1", "last"}, {"2", "unknown_loc"}, {"4", "delalloc"}, {"8", "encoded"}, {"128", "encrypted"},
      {"256", "not_aligned"}, {"512", "inline"}, {"1024", "tail_packed"}, {"2048", "unwritten"},
      {"4096", "merged"}, {"8192", "shared"}};

  private final MethodHandle open;
  private final MethodHandle ioctl;
  private final MethodHandle close;

  private Fiemap() {
    open = call("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    ioctl = call("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));
    close = call("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
  }

  private static MethodHandle call(String name, FunctionDescriptor d, Linker.Option... more) {
    Linker.Option[] options = new Linker.Option[more.length + 1];
    options[0] = Linker.Option.captureCallState("errno");
    System.arraycopy(more, 0, options, 1, more.length);
    return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), d, options);
  }

  /** The ioctl reader, or empty (logged) if native access is not allowed. */
  public static Optional<Fiemap> open() {
    try {
      return Optional.of(new Fiemap());
    } catch (RuntimeException | Error e) {
      LOG.warn("no native access for FS_IOC_FIEMAP ({}); extent maps come from filefrag", e.toString());
      return Optional.empty();
    }
  }

  /** @throws CommandFailedException (argv {@code ioctl FS_IOC_FIEMAP FILE}) if the file cannot be opened or mapped */
  @Override
  public FileExtents extents(Path file) {
    long size;
    try {
      size = Files.size(file);
    } catch (IOException e) {
      throw failed(file, "cannot stat: " + e.getMessage());
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment capture = arena.allocate(CAPTURE_LAYOUT);
      int fd = (int) open.invokeExact(capture, arena.allocateFrom(file.toString()), O_RDONLY | O_CLOEXEC, 0);
      if (fd < 0) {
        throw failed(file, "open: errno " + (int) ERRNO.get(capture, 0L));
      }
      try {
        return new FileExtents(size, 1, map(arena, capture, fd, file));
      } finally {
        int ignored = (int) close.invokeExact(capture, fd);
      }
    } catch (CommandFailedException e) {
      throw e;
    } catch (Throwable t) {
      throw failed(file, "downcall failed: " + t);
    }
  }

  private List<FileExtents.Extent> map(Arena arena, MemorySegment capture, int fd, Path file) throws Throwable {
    MemorySegment buf = arena.allocate(HEADER_BYTES + (long) EXTENTS_PER_CALL * EXTENT_BYTES, 8);
    List<FileExtents.Extent> extents = new ArrayList<>();
    long start = 0;
    int flags = FIEMAP_FLAG_SYNC;
    while (true) {
      buf.fill((byte) 0);
      buf.set(JAVA_LONG, 0, start);
      buf.set(JAVA_LONG, 8, FIEMAP_MAX_OFFSET);
      buf.set(JAVA_INT, 16, flags);
      buf.set(JAVA_INT, 24, EXTENTS_PER_CALL);
      int rc = (int) ioctl.invokeExact(capture, fd, FS_IOC_FIEMAP, buf);
      if (rc < 0) {
        int errno = (int) ERRNO.get(capture, 0L);
        if (errno == EINTR) {
          continue;
        }
        throw failed(file, "FS_IOC_FIEMAP: errno " + errno);
      }
      int mapped = buf.get(JAVA_INT, 20);
      boolean last = mapped == 0;
      for (int i = 0; i < mapped; i++) {
        long at = HEADER_BYTES + (long) i * EXTENT_BYTES;
        long logical = buf.get(JAVA_LONG, at);
        long length = buf.get(JAVA_LONG, at + 16);
        int fe = buf.get(JAVA_INT, at + 40);
        extents.add(new FileExtents.Extent(logical, length, names(fe)));
        start = logical + length;
        last |= (fe & 1) != 0;
      }
      if (last || mapped < EXTENTS_PER_CALL) {
        return extents;
      }
      flags = 0; // synced once is enough
    }
  }

  static Set<String> names(int flags) {
    Set<String> names = new HashSet<>();
    for (String[] f : FLAG_NAMES) {
      if ((flags & Integer.parseInt(f[0])) != 0) {
        names.add(f[1]);
      }
    }
    return names;
  }

  private static CommandFailedException failed(Path file, String why) {
    return new CommandFailedException(HostCommand.of("ioctl", "FS_IOC_FIEMAP", file.toString()), -1, why,
        java.time.Duration.ZERO);
  }
}
