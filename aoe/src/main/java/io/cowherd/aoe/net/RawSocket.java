package io.cowherd.aoe.net;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.cowherd.aoe.frame.AoeConstants;
import io.cowherd.aoe.frame.MacAddress;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@code AF_PACKET}/{@code SOCK_RAW} socket bound to one interface and to EtherType AoE
 * ({@code htons(0x88A2)}): it receives only AoE frames arriving on that interface and sends whole
 * frames (Ethernet header included) out of it. Built on {@code socket(2)}, {@code bind(2)} with a
 * {@code sockaddr_ll}, {@code if_nametoindex(3)}, {@code ioctl(2)} ({@code SIOCGIFHWADDR},
 * {@code SIOCGIFMTU}), {@code send(2)}, {@code recv(2)} and {@code poll(2)} through
 * {@code java.lang.foreign}.
 *
 * <p>Needs CAP_NET_RAW (root) and {@code --enable-native-access}. A socket belongs to the network
 * namespace of the thread that opened it: to use an interface of another namespace, open the
 * socket with {@link NetNs#openRawSocket(String, String)}; afterwards any thread may use it.
 *
 * <p>One thread may send while another receives; each of {@link #send} and {@link #receive} is
 * not reentrant. Frames up to 65536 bytes.
 */
public final class RawSocket implements FrameChannel {

    private static final Logger LOG = LoggerFactory.getLogger(RawSocket.class);
    private static final int BUFFER_BYTES = 65536;
    private static final int RECEIVE_BUFFER_REQUEST_BYTES = 4 << 20;

    private final String interfaceName;
    private final int interfaceIndex;
    private final MacAddress localAddress;
    private final Arena arena;
    private final int fd;
    private final MemorySegment sendBuffer;
    private final MemorySegment sendCapture;
    private final MemorySegment receiveBuffer;
    private final MemorySegment receiveCapture;
    private final MemorySegment pollFd;
    private volatile boolean closed;

    private RawSocket(String interfaceName, int interfaceIndex, MacAddress localAddress, Arena arena, int fd) {
        this.interfaceName = interfaceName;
        this.interfaceIndex = interfaceIndex;
        this.localAddress = localAddress;
        this.arena = arena;
        this.fd = fd;
        this.sendBuffer = arena.allocate(BUFFER_BYTES, 64);
        this.sendCapture = Libc.allocateCapture(arena);
        this.receiveBuffer = arena.allocate(BUFFER_BYTES, 64);
        this.receiveCapture = Libc.allocateCapture(arena);
        this.pollFd = arena.allocate(8, 4); // struct pollfd { int fd; short events; short revents; }
        pollFd.set(JAVA_INT, 0, fd);
        pollFd.set(JAVA_SHORT, 4, (short) Libc.POLLIN);
    }

    /**
     * Opens a socket on {@code interfaceName} in the calling thread's network namespace.
     *
     * @param interfaceName 1–15 characters, e.g. {@code eth0}
     * @throws SyscallException naming the call and errno: {@code if_nametoindex} (ENODEV: no such
     *     interface), {@code socket} (EPERM: not root), {@code bind}, {@code ioctl(SIOCGIFHWADDR)}
     * @throws IllegalArgumentException if the name is empty or longer than 15 characters
     */
    public static RawSocket open(String interfaceName) throws IOException {
        byte[] name = interfaceName.getBytes(StandardCharsets.US_ASCII);
        if (name.length == 0 || name.length >= Libc.IFNAMSIZ || interfaceName.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("interface name must be 1-15 characters: '" + interfaceName + "'");
        }
        Arena arena = Arena.ofShared();
        boolean opened = false;
        int fd = -1;
        try {
            MemorySegment capture = Libc.allocateCapture(arena);
            MemorySegment cName = arena.allocateFrom(interfaceName);
            int index = Libc.ifNameToIndex(capture, cName);
            if (index == 0) {
                throw new SyscallException("if_nametoindex(\"" + interfaceName + "\")", Libc.errno(capture));
            }
            fd = Libc.socket(capture, Libc.AF_PACKET, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, htons(AoeConstants.ETHERTYPE_AOE));
            if (fd < 0) {
                throw new SyscallException("socket(AF_PACKET, SOCK_RAW, ETH_P_AOE)", Libc.errno(capture));
            }
            // struct sockaddr_ll { u16 family; be16 protocol; int ifindex; u16 hatype; u8 pkttype; u8 halen; u8 addr[8]; }
            MemorySegment address = arena.allocate(Libc.SOCKADDR_LL_BYTES, 4);
            address.set(JAVA_SHORT, 0, (short) Libc.AF_PACKET);
            address.set(JAVA_SHORT, 2, (short) htons(AoeConstants.ETHERTYPE_AOE));
            address.set(JAVA_INT, 4, index);
            if (Libc.bind(capture, fd, address, Libc.SOCKADDR_LL_BYTES) != 0) {
                throw new SyscallException("bind(AF_PACKET, ifindex " + index + " \"" + interfaceName + "\")",
                        Libc.errno(capture));
            }
            enlargeReceiveBuffer(arena, capture, fd);
            MemorySegment ifreq = ifreq(arena, name);
            if (Libc.ioctl(capture, fd, Libc.SIOCGIFHWADDR, ifreq) != 0) {
                throw new SyscallException("ioctl(SIOCGIFHWADDR, \"" + interfaceName + "\")", Libc.errno(capture));
            }
            // struct ifreq: char name[16]; struct sockaddr hwaddr { u16 family; char data[14]; }
            MacAddress mac = MacAddress.of(ifreq.asSlice(18, MacAddress.LENGTH_BYTES).toArray(JAVA_BYTE));
            RawSocket socket = new RawSocket(interfaceName, index, mac, arena, fd);
            opened = true;
            LOG.debug("opened AoE raw socket on {} (ifindex {}, {})", interfaceName, index, mac);
            return socket;
        } finally {
            if (!opened) {
                if (fd >= 0) {
                    Libc.close(Libc.allocateCapture(arena), fd);
                }
                arena.close();
            }
        }
    }

    /**
     * Attaches a classic BPF program (socket(7) {@code SO_ATTACH_FILTER}, filter.h {@code struct
     * sock_filter}): the kernel then queues only frames the program accepts, so a listener for rare
     * frames costs nothing while ATA traffic flows. Frames queued before the call may still arrive.
     *
     * @param instructions each one {@code code << 48 | jt << 40 | jf << 32 | k} (k unsigned 32 bit), as
     *     {@link io.cowherd.aoe.frame.Bpf#insn} makes them
     * @throws SyscallException if the kernel refuses the program (EINVAL: malformed)
     * @throws IllegalArgumentException if there are none or more than 4096
     */
    public void attachFilter(long[] instructions) throws IOException {
        attachFilter(fd, interfaceName, instructions);
    }

    /** {@link #attachFilter(long[])} on socket {@code fd}; also for {@link PacketRing}. */
    static void attachFilter(int fd, String interfaceName, long[] instructions) throws IOException {
        if (instructions.length == 0 || instructions.length > 4096) {
            throw new IllegalArgumentException("a BPF program has 1-4096 instructions, got " + instructions.length);
        }
        try (Arena call = Arena.ofConfined()) {
            // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }
            MemorySegment program = call.allocate(8L * instructions.length, 8);
            for (int i = 0; i < instructions.length; i++) {
                long insn = instructions[i];
                program.set(JAVA_SHORT, 8L * i, (short) (insn >>> 48));
                program.set(JAVA_BYTE, 8L * i + 2, (byte) (insn >>> 40));
                program.set(JAVA_BYTE, 8L * i + 3, (byte) (insn >>> 32));
                program.set(JAVA_INT, 8L * i + 4, (int) insn);
            }
            // struct sock_fprog { unsigned short len; struct sock_filter *filter; } (16 bytes on LP64)
            MemorySegment fprog = call.allocate(16, 8);
            fprog.set(JAVA_SHORT, 0, (short) instructions.length);
            fprog.set(java.lang.foreign.ValueLayout.ADDRESS, 8, program);
            MemorySegment capture = Libc.allocateCapture(call);
            if (Libc.setsockopt(capture, fd, Libc.SOL_SOCKET, Libc.SO_ATTACH_FILTER, fprog, 16) != 0) {
                throw new SyscallException("setsockopt(SO_ATTACH_FILTER) on \"" + interfaceName + "\"", Libc.errno(capture));
            }
        }
    }

    /** The interface this socket is bound to. */
    public String interfaceName() {
        return interfaceName;
    }

    /** The kernel's index of the interface (in the socket's namespace). */
    public int interfaceIndex() {
        return interfaceIndex;
    }

    /** The interface MAC address, read with {@code SIOCGIFHWADDR} when the socket was opened. */
    @Override
    public MacAddress localAddress() {
        return localAddress;
    }

    /**
     * The interface MTU in bytes, read now with {@code SIOCGIFMTU}.
     *
     * @throws SyscallException if the ioctl fails
     * @throws ClosedChannelException if the socket is closed
     */
    @Override
    public int mtuBytes() throws IOException {
        ensureOpen();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment capture = Libc.allocateCapture(call);
            MemorySegment ifreq = ifreq(call, interfaceName.getBytes(StandardCharsets.US_ASCII));
            if (Libc.ioctl(capture, fd, Libc.SIOCGIFMTU, ifreq) != 0) {
                throw new SyscallException("ioctl(SIOCGIFMTU, \"" + interfaceName + "\")", Libc.errno(capture));
            }
            return ifreq.get(JAVA_INT, 16);
        }
    }

    /**
     * Sends one frame (Ethernet header first, no FCS) with {@code send(2)}.
     *
     * @throws SyscallException if send fails (e.g. ENETDOWN: interface down; EMSGSIZE: longer than MTU).
     *     An ENETDOWN left pending by an earlier down/up of the interface is retried once.
     * @throws IllegalArgumentException if the frame is longer than 65536 bytes
     */
    @Override
    public void send(byte[] frame, int offset, int lengthBytes) throws IOException {
        Objects.checkFromIndexSize(offset, lengthBytes, frame.length);
        if (lengthBytes > BUFFER_BYTES) {
            throw new IllegalArgumentException("frame of " + lengthBytes + " bytes exceeds " + BUFFER_BYTES);
        }
        ensureOpen();
        MemorySegment.copy(frame, offset, sendBuffer, JAVA_BYTE, 0, lengthBytes);
        boolean retriedNetworkDown = false;
        while (true) {
            long sent = Libc.send(sendCapture, fd, sendBuffer, lengthBytes, 0);
            if (sent == lengthBytes) {
                return;
            }
            if (sent >= 0) {
                throw new IOException("send on " + interfaceName + " wrote " + sent + " of " + lengthBytes + " bytes");
            }
            int errno = Libc.errno(sendCapture);
            if (errno == Libc.ENETDOWN && !retriedNetworkDown) {
                // When the interface goes down the kernel leaves ENETDOWN pending on the socket and the
                // next call reports it, even if the interface is up again: try once more.
                retriedNetworkDown = true;
                continue;
            }
            if (errno != Libc.EINTR) {
                throw new SyscallException("send(" + interfaceName + ", " + lengthBytes + " bytes)", errno);
            }
        }
    }

    /** Sends all of {@code frame}; see {@link #send(byte[], int, int)}. */
    public void send(byte[] frame) throws IOException {
        send(frame, 0, frame.length);
    }

    /**
     * Sends the bytes between {@code frame}'s position and limit as one frame and moves the
     * position to the limit; see {@link #send(byte[], int, int)}.
     */
    public void send(ByteBuffer frame) throws IOException {
        int lengthBytes = frame.remaining();
        if (frame.hasArray()) {
            send(frame.array(), frame.arrayOffset() + frame.position(), lengthBytes);
        } else {
            byte[] copy = new byte[lengthBytes];
            frame.duplicate().get(copy);
            send(copy, 0, lengthBytes);
        }
        frame.position(frame.limit());
    }

    /**
     * Receives one frame into {@code destination} from its position on, advancing the position;
     * see {@link #receive(byte[], int, Duration)}.
     *
     * @return bytes received, or {@link #TIMED_OUT}
     */
    public int receive(ByteBuffer destination, Duration timeout) throws IOException {
        byte[] frame = new byte[Math.min(destination.remaining(), BUFFER_BYTES)];
        int lengthBytes = receive(frame, 0, timeout);
        if (lengthBytes > 0) {
            destination.put(frame, 0, lengthBytes);
        }
        return lengthBytes;
    }

    /**
     * Receives one AoE frame arriving on the interface, waiting up to {@code timeout}
     * ({@code recv(2)} with MSG_DONTWAIT, then {@code poll(2)}, rounded up to whole milliseconds).
     *
     * @return bytes copied into {@code buffer}, or {@link #TIMED_OUT}
     * @throws SyscallException if recv or poll fails
     */
    @Override
    public int receive(byte[] buffer, int offset, Duration timeout) throws IOException {
        Objects.checkFromToIndex(offset, buffer.length, buffer.length);
        ensureOpen();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long n = Libc.recv(receiveCapture, fd, receiveBuffer, BUFFER_BYTES, Libc.MSG_DONTWAIT | Libc.MSG_TRUNC);
            if (n >= 0) {
                int copied = (int) Math.min(n, Math.min(buffer.length - offset, BUFFER_BYTES));
                MemorySegment.copy(receiveBuffer, JAVA_BYTE, 0, buffer, offset, copied);
                if (copied < n) {
                    LOG.debug("truncated a {}-byte frame on {} to {} bytes", n, interfaceName, copied);
                }
                return copied;
            }
            int errno = Libc.errno(receiveCapture);
            if (errno == Libc.EINTR) {
                continue;
            }
            if (errno != Libc.EAGAIN) {
                throw new SyscallException("recv(" + interfaceName + ")", errno);
            }
            long remainingNanos = deadline - System.nanoTime();
            if (remainingNanos <= 0) {
                return TIMED_OUT;
            }
            int ready = Libc.poll(receiveCapture, pollFd, 1, (int) Math.min(Integer.MAX_VALUE,
                    TimeUnit.NANOSECONDS.toMillis(remainingNanos + 999_999)));
            if (ready < 0 && Libc.errno(receiveCapture) != Libc.EINTR) {
                throw new SyscallException("poll(" + interfaceName + ")", Libc.errno(receiveCapture));
            }
            if (ready == 0) {
                return TIMED_OUT;
            }
        }
    }

    /** Closes the socket; idempotent. Do not close while another thread is inside send/receive. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (Libc.close(sendCapture, fd) != 0) {
            LOG.warn("close of AoE raw socket on {} failed: errno {}", interfaceName, Libc.errno(sendCapture));
        }
        arena.close();
    }

    @Override
    public String toString() {
        return "RawSocket[" + interfaceName + " " + localAddress + (closed ? " closed" : "") + "]";
    }

    private void ensureOpen() throws ClosedChannelException {
        if (closed) {
            throw new ClosedChannelException();
        }
    }

    private static MemorySegment ifreq(Arena arena, byte[] name) {
        MemorySegment ifreq = arena.allocate(Libc.IFREQ_BYTES, 8);
        MemorySegment.copy(name, 0, ifreq, JAVA_BYTE, 0, name.length);
        return ifreq;
    }

    /** Pipelined reads of jumbo frames overflow the default receive buffer; root may force a bigger one. */
    private static void enlargeReceiveBuffer(Arena arena, MemorySegment capture, int fd) {
        MemorySegment size = arena.allocateFrom(JAVA_INT, RECEIVE_BUFFER_REQUEST_BYTES);
        if (Libc.setsockopt(capture, fd, Libc.SOL_SOCKET, Libc.SO_RCVBUFFORCE, size, 4) != 0
                && Libc.setsockopt(capture, fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF, size, 4) != 0) {
            LOG.debug("could not enlarge the receive buffer: errno {}", Libc.errno(capture));
        }
    }

    /** Host to network byte order of a 16-bit value, as an int for the socket() protocol argument. */
    static int htons(int value) {
        return ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN
                ? value & 0xFFFF
                : Short.toUnsignedInt(Short.reverseBytes((short) value));
    }
}
