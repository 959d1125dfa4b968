package io.cowherd.aoe.net;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.cowherd.aoe.frame.AoeConstants;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A receive-only AoE packet socket with a {@code TPACKET_V3} memory-mapped ring (packet(7), {@code
 * PACKET_RX_RING}; Documentation/networking/packet_mmap.rst): the kernel writes each frame the
 * socket's classic BPF filter accepts (snapped to the length the filter returns) into blocks shared
 * with this process and hands a block over when it is full or {@code blockTimeout} after its first
 * frame. Reading frames then costs no system call and no copy per frame: one {@code poll(2)} per
 * block at most. An empty block is never handed over, so an idle ring costs nothing.
 *
 * <p>The filter is attached before the socket is bound to the interface, so no unfiltered frame
 * reaches the ring. Opened in the calling thread's network namespace; one thread reads it.
 */
public final class PacketRing implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PacketRing.class);
    private static final VarHandle INT = JAVA_INT.varHandle();
    /** linux/if_packet.h TP_STATUS_KERNEL / TP_STATUS_USER of a block's {@code block_status}. */
    private static final int TP_STATUS_KERNEL = 0;
    private static final int TP_STATUS_USER = 1;
    // struct tpacket_block_desc { u32 version; u32 offset_to_priv; struct tpacket_hdr_v1 { u32 block_status;
    // u32 num_pkts; u32 offset_to_first_pkt; ... } }
    private static final long BLOCK_STATUS = 8;
    private static final long BLOCK_PACKETS = 12;
    private static final long BLOCK_FIRST = 16;
    // struct tpacket3_hdr { u32 tp_next_offset; u32 tp_sec; u32 tp_nsec; u32 tp_snaplen; u32 tp_len;
    // u32 tp_status; u16 tp_mac; u16 tp_net; ... }
    private static final long PACKET_NEXT = 0;
    private static final long PACKET_SNAPLEN = 12;
    private static final long PACKET_LEN = 16;
    private static final long PACKET_MAC = 24;

    /** Receives the frames of a block, one at a time; must not keep {@code frame}, which is reused. */
    @FunctionalInterface
    public interface FrameSink {
        /**
         * @param frame the frame from its Ethernet header on, {@code lengthBytes} valid (the snap)
         * @param wireBytes the frame's length on the wire ({@code tp_len}), of which the snap is the start
         */
        void frame(byte[] frame, int lengthBytes, int wireBytes);
    }

    /**
     * The kernel's counters of a ring since the last reading.
     *
     * @param packets frames that passed the filter (stored or dropped)
     * @param drops frames dropped because no block was free
     */
    public record Statistics(long packets, long drops) {}

    private final String interfaceName;
    private final Arena arena;
    private final int fd;
    private final MemorySegment ring;
    private final int blockBytes;
    private final int blocks;
    private final MemorySegment pollFd;
    private final MemorySegment capture;
    private final byte[] frame;
    private int current;
    private volatile boolean closed;

    private PacketRing(String interfaceName, Arena arena, int fd, MemorySegment ring, int blockBytes, int blocks,
            int maxFrameBytes) {
        this.interfaceName = interfaceName;
        this.arena = arena;
        this.fd = fd;
        this.ring = ring;
        this.blockBytes = blockBytes;
        this.blocks = blocks;
        this.capture = Libc.allocateCapture(arena);
        this.pollFd = arena.allocate(8, 4);
        pollFd.set(JAVA_INT, 0, fd);
        pollFd.set(JAVA_SHORT, 4, (short) (Libc.POLLIN | Libc.POLLERR));
        this.frame = new byte[maxFrameBytes];
    }

    /**
     * Opens a ring on {@code interfaceName} receiving AoE frames that {@code filter} accepts.
     *
     * @param filter classic BPF as {@link RawSocket#attachFilter} takes it; its accept length is the
     *     snap, at most {@code maxFrameBytes} of each frame are passed on
     * @param blockBytes bytes per block, a multiple of 4096
     * @param blocks number of blocks (the ring is {@code blockBytes × blocks} bytes of kernel memory mapped here)
     * @param blockTimeout longest time the kernel keeps a non-empty block before handing it over
     *     (whole milliseconds, at least 1)
     * @throws SyscallException naming the failed call (EPERM: not root; ENODEV: no such interface)
     */
    public static PacketRing open(String interfaceName, long[] filter, int blockBytes, int blocks,
            Duration blockTimeout, int maxFrameBytes) throws IOException {
        byte[] name = interfaceName.getBytes(StandardCharsets.US_ASCII);
        if (name.length == 0 || name.length >= Libc.IFNAMSIZ || interfaceName.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("interface name must be 1-15 characters: '" + interfaceName + "'");
        }
        if (blockBytes <= 0 || blockBytes % 4096 != 0 || blocks <= 0) {
            throw new IllegalArgumentException("blocks of a multiple of 4096 bytes, at least one: " + blockBytes
                    + " x " + blocks);
        }
        Arena arena = Arena.ofShared();
        int fd = -1;
        MemorySegment mapped = null;
        long ringBytes = (long) blockBytes * blocks;
        boolean opened = false;
        try {
            MemorySegment capture = Libc.allocateCapture(arena);
            int index = Libc.ifNameToIndex(capture, arena.allocateFrom(interfaceName));
            if (index == 0) {
                throw new SyscallException("if_nametoindex(\"" + interfaceName + "\")", Libc.errno(capture));
            }
            // protocol 0: nothing is received until bind names the protocol, after the filter is in place
            fd = Libc.socket(capture, Libc.AF_PACKET, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, 0);
            if (fd < 0) {
                throw new SyscallException("socket(AF_PACKET, SOCK_RAW)", Libc.errno(capture));
            }
            RawSocket.attachFilter(fd, interfaceName, filter);
            MemorySegment version = arena.allocateFrom(JAVA_INT, Libc.TPACKET_V3);
            if (Libc.setsockopt(capture, fd, Libc.SOL_PACKET, Libc.PACKET_VERSION, version, 4) != 0) {
                throw new SyscallException("setsockopt(PACKET_VERSION, TPACKET_V3)", Libc.errno(capture));
            }
            // struct tpacket_req3 { u32 tp_block_size, tp_block_nr, tp_frame_size, tp_frame_nr,
            // tp_retire_blk_tov, tp_sizeof_priv, tp_feature_req_word; }
            int frameBytes = 2048; // V3 packs frames by their real size; tp_frame_size only sizes tp_frame_nr
            MemorySegment req = arena.allocate(28, 4);
            req.set(JAVA_INT, 0, blockBytes);
            req.set(JAVA_INT, 4, blocks);
            req.set(JAVA_INT, 8, frameBytes);
            req.set(JAVA_INT, 12, (int) (ringBytes / frameBytes));
            req.set(JAVA_INT, 16, (int) Math.max(1, blockTimeout.toMillis()));
            if (Libc.setsockopt(capture, fd, Libc.SOL_PACKET, Libc.PACKET_RX_RING, req, 28) != 0) {
                throw new SyscallException("setsockopt(PACKET_RX_RING, " + blocks + " x " + blockBytes + " bytes)",
                        Libc.errno(capture));
            }
            MemorySegment address = Libc.mmapShared(capture, fd, ringBytes);
            if (address.address() == -1L) {
                throw new SyscallException("mmap(packet ring, " + ringBytes + " bytes)", Libc.errno(capture));
            }
            mapped = address.reinterpret(ringBytes);
            MemorySegment sll = arena.allocate(Libc.SOCKADDR_LL_BYTES, 4);
            sll.set(JAVA_SHORT, 0, (short) Libc.AF_PACKET);
            sll.set(JAVA_SHORT, 2, (short) RawSocket.htons(AoeConstants.ETHERTYPE_AOE));
            sll.set(JAVA_INT, 4, index);
            if (Libc.bind(capture, fd, sll, Libc.SOCKADDR_LL_BYTES) != 0) {
                throw new SyscallException("bind(AF_PACKET, \"" + interfaceName + "\")", Libc.errno(capture));
            }
            PacketRing r = new PacketRing(interfaceName, arena, fd, mapped, blockBytes, blocks, maxFrameBytes);
            opened = true;
            LOG.debug("opened a TPACKET_V3 ring on {}: {} x {} bytes", interfaceName, blocks, blockBytes);
            return r;
        } finally {
            if (!opened) {
                MemorySegment c = Libc.allocateCapture(arena);
                if (mapped != null) {
                    Libc.munmap(c, mapped, ringBytes);
                }
                if (fd >= 0) {
                    Libc.close(c, fd);
                }
                arena.close();
            }
        }
    }

    /**
     * Hands every frame of the blocks the kernel has handed over (at most one round of the ring)
     * to {@code sink}, waiting up to {@code timeout} for the first block.
     *
     * @return frames passed on (0: none within the timeout)
     * @throws SyscallException if poll fails, or with the error the kernel left on the socket (ENETDOWN:
     *     the interface went down or away; the error is then cleared, the ring may be read again
     *     but receives nothing if the interface was deleted, reopen it)
     * @throws ClosedChannelException if the ring is closed
     */
    public int receive(FrameSink sink, Duration timeout) throws IOException {
        if (closed) {
            throw new ClosedChannelException();
        }
        int frames = 0;
        long block = (long) current * blockBytes;
        if (((int) INT.getAcquire(ring, block + BLOCK_STATUS) & TP_STATUS_USER) == 0) {
            int ready = Libc.poll(capture, pollFd, 1, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
            if (ready < 0 && Libc.errno(capture) != Libc.EINTR) {
                throw new SyscallException("poll(packet ring " + interfaceName + ")", Libc.errno(capture));
            }
            if (ready > 0 && (pollFd.get(JAVA_SHORT, 6) & Libc.POLLERR) != 0) {
                throwPendingError();
            }
        }
        for (int taken = 0; taken < blocks && ((int) INT.getAcquire(ring, block + BLOCK_STATUS) & TP_STATUS_USER) != 0;
                taken++) {
            int packets = ring.get(JAVA_INT, block + BLOCK_PACKETS);
            long packet = block + Integer.toUnsignedLong(ring.get(JAVA_INT, block + BLOCK_FIRST));
            for (int i = 0; i < packets; i++) {
                int snap = ring.get(JAVA_INT, packet + PACKET_SNAPLEN);
                int mac = Short.toUnsignedInt(ring.get(JAVA_SHORT, packet + PACKET_MAC));
                int length = Math.min(snap, frame.length);
                MemorySegment.copy(ring, JAVA_BYTE, packet + mac, frame, 0, length);
                sink.frame(frame, length, ring.get(JAVA_INT, packet + PACKET_LEN));
                frames++;
                packet += Integer.toUnsignedLong(ring.get(JAVA_INT, packet + PACKET_NEXT));
            }
            INT.setRelease(ring, block + BLOCK_STATUS, TP_STATUS_KERNEL);
            current = (current + 1) % blocks;
            block = (long) current * blockBytes;
        }
        return frames;
    }

    /**
     * Takes the error the kernel left pending on the socket ({@code SO_ERROR}, which clears it) and
     * throws it. af_packet sets ENETDOWN when the interface goes down or away; while it is pending
     * every poll(2) returns at once, so a ring that ignored it would be read in a busy loop, and
     * after the interface is deleted the socket stays bound to nothing: the caller reopens.
     */
    private void throwPendingError() throws IOException {
        int error;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment value = call.allocate(JAVA_INT);
            MemorySegment length = call.allocateFrom(JAVA_INT, 4);
            MemorySegment c = Libc.allocateCapture(call);
            if (Libc.getsockopt(c, fd, Libc.SOL_SOCKET, Libc.SO_ERROR, value, length) != 0) {
                throw new SyscallException("getsockopt(SO_ERROR) on \"" + interfaceName + "\"", Libc.errno(c));
            }
            error = value.get(JAVA_INT, 0);
        }
        throw new SyscallException("poll(packet ring " + interfaceName + "): pending socket error", error);
    }

    /**
     * Reads and resets the kernel's counters ({@code PACKET_STATISTICS}, {@code struct
     * tpacket_stats_v3}); drops are frames that found no free block.
     *
     * @throws SyscallException if getsockopt fails
     */
    public Statistics takeStatistics() throws IOException {
        if (closed) {
            throw new ClosedChannelException();
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment stats = call.allocate(12, 4); // { u32 tp_packets; u32 tp_drops; u32 tp_freeze_q_cnt; }
            MemorySegment length = call.allocateFrom(JAVA_INT, 12);
            MemorySegment c = Libc.allocateCapture(call);
            if (Libc.getsockopt(c, fd, Libc.SOL_PACKET, Libc.PACKET_STATISTICS, stats, length) != 0) {
                throw new SyscallException("getsockopt(PACKET_STATISTICS) on \"" + interfaceName + "\"", Libc.errno(c));
            }
            return new Statistics(Integer.toUnsignedLong(stats.get(JAVA_INT, 0)),
                    Integer.toUnsignedLong(stats.get(JAVA_INT, 4)));
        }
    }

    /** Unmaps the ring and closes the socket; idempotent; not while another thread is in {@link #receive}. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Libc.munmap(capture, ring, (long) blockBytes * blocks);
        Libc.close(capture, fd);
        arena.close();
    }

    @Override
    public String toString() {
        return "PacketRing[" + interfaceName + " " + blocks + " x " + blockBytes + (closed ? " closed" : "") + "]";
    }
}
