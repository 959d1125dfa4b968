package io.cowherd.aoe.net;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

/**
 * Runs code inside a named network namespace (one made with {@code ip netns add NAME}, i.e. a
 * file {@code /var/run/netns/NAME}) by calling {@code setns(fd, CLONE_NEWNET)} through
 * {@code java.lang.foreign}.
 *
 * <p>{@code setns} changes the namespace of the calling <em>kernel thread</em> only. A JVM platform
 * thread is one kernel thread, so this works, but a thread that has entered a namespace must
 * never go back to a pool, and virtual threads (which hop between carrier threads) cannot enter
 * one. {@link #callIn} and {@link #openRawSocket} therefore run their work on a fresh, dedicated
 * platform thread that ends afterwards. Sockets opened there stay bound to that namespace and
 * can then be used from any thread.
 *
 * <p>Typical use (e.g. an AoE initiator in a client namespace of a test):
 * <pre>{@code
 * RawSocket socket = NetNs.openRawSocket("cwt-1a2b3c-c", "cwt-c0");
 * try (AoeInitiator initiator = new AoeInitiator(socket, InitiatorOptions.defaults())) { ... }
 * }</pre>
 *
 * <p>Needs CAP_SYS_ADMIN (root) and {@code --enable-native-access}.
 */
public final class NetNs {

    /** Where {@code ip netns} keeps its namespace files. */
    public static final Path RUN_DIRECTORY = Path.of("/var/run/netns");

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,254}");

    /** Work to run inside a namespace. */
    @FunctionalInterface
    public interface Task<T> {
        /** Runs inside the namespace; may throw {@link IOException}. */
        T run() throws IOException;
    }

    private NetNs() {}

    /**
     * Moves the <em>calling thread</em> into namespace {@code name}. Only for a dedicated platform
     * thread that ends afterwards (see the class comment); prefer {@link #callIn}.
     *
     * @throws SyscallException from {@code open} (ENOENT: no such namespace) or {@code setns}
     *     (EPERM: not root)
     * @throws IllegalStateException on a virtual thread
     * @throws IllegalArgumentException if {@code name} is not a plain file name
     */
    public static void enterOnCurrentThread(String name) throws IOException {
        Path file = pathOf(name);
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("a virtual thread cannot enter network namespace " + name);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Libc.allocateCapture(arena);
            int fd = Libc.open(capture, arena.allocateFrom(file.toString()), Libc.O_RDONLY | Libc.O_CLOEXEC);
            if (fd < 0) {
                throw new SyscallException("open(\"" + file + "\")", Libc.errno(capture));
            }
            try {
                if (Libc.setns(capture, fd, Libc.CLONE_NEWNET) != 0) {
                    throw new SyscallException("setns(\"" + file + "\", CLONE_NEWNET)", Libc.errno(capture));
                }
            } finally {
                Libc.close(capture, fd);
            }
        }
    }

    /**
     * Runs {@code task} on a new platform thread that first enters namespace {@code name}, waits
     * for it and returns its result. The thread ends with the task.
     *
     * @throws IOException what entering the namespace or the task threw
     * @throws InterruptedIOException if interrupted while waiting (the interrupt flag is kept)
     */
    public static <T> T callIn(String name, Task<T> task) throws IOException {
        pathOf(name);
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread thread = Thread.ofPlatform().name("netns-" + name).unstarted(() -> {
            try {
                enterOnCurrentThread(name);
                result.set(task.run());
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        thread.start();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            InterruptedIOException io = new InterruptedIOException("interrupted while running in network namespace " + name);
            io.initCause(e);
            throw io;
        }
        Throwable t = failure.get();
        switch (t) {
            case null -> {
                return result.get();
            }
            case IOException io -> throw io;
            case RuntimeException r -> throw r;
            case Error e -> throw e;
            default -> throw new IOException("task in network namespace " + name + " failed", t);
        }
    }

    /**
     * Opens a {@link RawSocket} on interface {@code interfaceName} of namespace {@code namespace};
     * the socket stays in that namespace and may be used from any thread.
     *
     * @throws IOException see {@link #enterOnCurrentThread} and {@link RawSocket#open}
     */
    public static RawSocket openRawSocket(String namespace, String interfaceName) throws IOException {
        return callIn(namespace, () -> RawSocket.open(interfaceName));
    }

    private static Path pathOf(String name) {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("not a network namespace name: '" + name + "'");
        }
        return RUN_DIRECTORY.resolve(name);
    }
}
