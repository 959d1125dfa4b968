package io.cowherd.aoe.net;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The libc calls this package needs, as {@code java.lang.foreign} downcalls (Linux, x86-64 and
 * other LP64 ABIs). Calls that can fail take a capture segment first
 * ({@link Linker.Option#captureCallState}) so that {@code errno} is read before the JVM can
 * overwrite it; allocate one with {@link #allocateCapture(Arena)} and read it with {@link #errno}.
 * The restricted methods used here are why callers need {@code --enable-native-access}.
 */
@SuppressWarnings("restricted")
final class Libc {

    static final int AF_PACKET = 17;
    static final int SOCK_RAW = 3;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int SOL_SOCKET = 1;
    static final int SO_RCVBUF = 8;
    /** socket(7): the pending error, read and cleared. */
    static final int SO_ERROR = 4;
    static final int SO_RCVBUFFORCE = 33;
    /** SO_ATTACH_FILTER: a classic BPF program on a socket; socket(7), asm-generic/socket.h. */
    static final int SO_ATTACH_FILTER = 26;
    /** linux/socket.h SOL_PACKET. */
    static final int SOL_PACKET = 263;
    /** linux/if_packet.h PACKET_STATISTICS: struct tpacket_stats { unsigned tp_packets, tp_drops; }, reset by each read. */
    static final int PACKET_STATISTICS = 6;
    /** linux/if_packet.h PACKET_RX_RING: set up a receive ring (struct tpacket_req3 for TPACKET_V3). */
    static final int PACKET_RX_RING = 5;
    /** linux/if_packet.h PACKET_VERSION. */
    static final int PACKET_VERSION = 10;
    /** linux/if_packet.h enum tpacket_versions TPACKET_V3. */
    static final int TPACKET_V3 = 2;
    static final int PROT_READ = 1;
    static final int PROT_WRITE = 2;
    static final int MAP_SHARED = 1;
    static final int POLLERR = 0x8;
    static final int MSG_DONTWAIT = 0x40;
    static final int MSG_TRUNC = 0x20;
    static final int POLLIN = 0x1;
    static final long SIOCGIFMTU = 0x8921;
    static final long SIOCGIFHWADDR = 0x8927;
    static final int IFNAMSIZ = 16;
    static final int IFREQ_BYTES = 40;
    static final int SOCKADDR_LL_BYTES = 20;
    static final int O_RDONLY = 0;
    static final int O_CLOEXEC = 0x80000;
    static final int CLONE_NEWNET = 0x40000000;

    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int ENETDOWN = 100;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static final MethodHandle SOCKET = errnoCall("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle BIND = errnoCall("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle IF_NAMETOINDEX = errnoCall("if_nametoindex", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle IOCTL = errnoCall("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle SETSOCKOPT = errnoCall("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKOPT = errnoCall("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle MMAP = errnoCall("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = errnoCall("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle SEND = errnoCall("send", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle RECV = errnoCall("recv", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle POLL = errnoCall("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle CLOSE = errnoCall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle OPEN = errnoCall("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle SETNS = errnoCall("setns", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("strerror"), FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private Libc() {}

    private static MethodHandle errnoCall(String name, FunctionDescriptor descriptor, Linker.Option... more) {
        Linker.Option[] options = new Linker.Option[more.length + 1];
        options[0] = Linker.Option.captureCallState("errno");
        System.arraycopy(more, 0, options, 1, more.length);
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), descriptor, options);
    }

    /** A segment to pass as the capture argument of the calls below. */
    static MemorySegment allocateCapture(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    /** The errno stored by the last call that used {@code capture}. */
    static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    static int socket(MemorySegment capture, int domain, int type, int protocol) {
        try {
            return (int) SOCKET.invokeExact(capture, domain, type, protocol);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int bind(MemorySegment capture, int fd, MemorySegment address, int addressBytes) {
        try {
            return (int) BIND.invokeExact(capture, fd, address, addressBytes);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** Returns the interface index, or 0 with errno set. */
    static int ifNameToIndex(MemorySegment capture, MemorySegment name) {
        try {
            return (int) IF_NAMETOINDEX.invokeExact(capture, name);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int ioctl(MemorySegment capture, int fd, long request, MemorySegment argument) {
        try {
            return (int) IOCTL.invokeExact(capture, fd, request, argument);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int setsockopt(MemorySegment capture, int fd, int level, int name, MemorySegment value, int valueBytes) {
        try {
            return (int) SETSOCKOPT.invokeExact(capture, fd, level, name, value, valueBytes);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int getsockopt(MemorySegment capture, int fd, int level, int name, MemorySegment value, MemorySegment valueBytes) {
        try {
            return (int) GETSOCKOPT.invokeExact(capture, fd, level, name, value, valueBytes);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** mmap(2) of a shared, readable and writable mapping of {@code fd}; MAP_FAILED is address -1. */
    static MemorySegment mmapShared(MemorySegment capture, int fd, long lengthBytes) {
        try {
            return (MemorySegment) MMAP.invokeExact(capture, MemorySegment.NULL, lengthBytes, PROT_READ | PROT_WRITE,
                    MAP_SHARED, fd, 0L);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int munmap(MemorySegment capture, MemorySegment address, long lengthBytes) {
        try {
            return (int) MUNMAP.invokeExact(capture, address, lengthBytes);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long send(MemorySegment capture, int fd, MemorySegment buffer, long lengthBytes, int flags) {
        try {
            return (long) SEND.invokeExact(capture, fd, buffer, lengthBytes, flags);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long recv(MemorySegment capture, int fd, MemorySegment buffer, long lengthBytes, int flags) {
        try {
            return (long) RECV.invokeExact(capture, fd, buffer, lengthBytes, flags);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int poll(MemorySegment capture, MemorySegment pollFds, long count, int timeoutMillis) {
        try {
            return (int) POLL.invokeExact(capture, pollFds, count, timeoutMillis);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int close(MemorySegment capture, int fd) {
        try {
            return (int) CLOSE.invokeExact(capture, fd);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int open(MemorySegment capture, MemorySegment path, int flags) {
        try {
            return (int) OPEN.invokeExact(capture, path, flags, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int setns(MemorySegment capture, int fd, int namespaceType) {
        try {
            return (int) SETNS.invokeExact(capture, fd, namespaceType);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** The C library's description of {@code errno}, e.g. "No such device". */
    static String strerror(int errno) {
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return text.equals(MemorySegment.NULL) ? "unknown error" : text.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** The symbolic name of the errno values these calls report. */
    static String errnoName(int errno) {
        return switch (errno) {
            case 1 -> "EPERM";
            case 2 -> "ENOENT";
            case 4 -> "EINTR";
            case 9 -> "EBADF";
            case 11 -> "EAGAIN";
            case 12 -> "ENOMEM";
            case 13 -> "EACCES";
            case 14 -> "EFAULT";
            case 19 -> "ENODEV";
            case 22 -> "EINVAL";
            case 24 -> "EMFILE";
            case 90 -> "EMSGSIZE";
            case 93 -> "EPROTONOSUPPORT";
            case 95 -> "EOPNOTSUPP";
            case 97 -> "EAFNOSUPPORT";
            case 100 -> "ENETDOWN";
            case 105 -> "ENOBUFS";
            case 6 -> "ENXIO";
            default -> "E?";
        };
    }

    private static IllegalStateException unexpected(Throwable t) {
        if (t instanceof Error e) {
            throw e;
        }
        if (t instanceof RuntimeException r) {
            throw r;
        }
        return new IllegalStateException("downcall threw a checked exception", t);
    }
}
