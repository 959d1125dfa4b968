package io.cowherd.aoe.frame;

import static io.cowherd.aoe.frame.Bpf.JEQ_K;
import static io.cowherd.aoe.frame.Bpf.JSET_K;
import static io.cowherd.aoe.frame.Bpf.LD_ABS_BYTE;
import static io.cowherd.aoe.frame.Bpf.LD_ABS_HALF;
import static io.cowherd.aoe.frame.Bpf.RET_K;
import static io.cowherd.aoe.frame.Bpf.insn;

/**
 * ATA read and write requests as seen on the wire, for watching a segment's I/O without touching
 * it: a classic BPF program that passes only their headers to a packet socket ({@link
 * #bpfFilter()}), and an allocation-free classifier of such a header ({@link #classify}).
 *
 * <p>Wire layout (AoEr11 §2, §3): Ethernet destination, source, type 0x88A2 (offsets 0–13); Ver and
 * Flags (14; R = 0x08 marks a response, §2.3), Error (15), Major = shelf (16–17), Minor = slot (18),
 * Command (19; 0 = ATA, §2.6), Tag (20–23); then the ATA header of §3: AFlags (24; W = 0x01 data
 * to write, E = 0x40 LBA48, §3.1), Err/Feature (25, §3.2), Sector Count (26, §3.3), Cmd/Status (27,
 * §3.4), lba0–lba5 (28–33, §3.5), two reserved bytes, then the data (36, §3.6). Read and write are
 * told apart by the ATA opcode in Cmd (ATA8-ACS: READ SECTORS 0x20, READ SECTORS EXT 0x24, READ DMA
 * 0xC8, READ DMA EXT 0x25; WRITE SECTORS 0x30, WRITE SECTORS EXT 0x34, WRITE DMA 0xCA, WRITE DMA EXT
 * 0x35); other ATA commands (IDENTIFY, FLUSH, CHECK POWER MODE) move no disk data and are not I/O
 * here. A request asks for Sector Count × 512 bytes (§3.3, §3.6).
 *
 * <p>VLAN-tagged frames are not seen: like the other AoE watches, a socket bound to the AoE
 * EtherType on the exporter's interface receives only untagged AoE frames (the kernel strips tags
 * on VLAN interfaces, where an exporter of a VLAN listens).
 */
public final class AtaRequests {
    /** Bytes of a request the filter hands to the socket: the headers up to lba5 fit well within. */
    public static final int SNAP_BYTES = 64;
    /** Shortest frame {@link #classify} accepts: Ethernet, AoE and ATA headers, bytes (AoEr11 §3). */
    public static final int MIN_BYTES = AoeConstants.OFFSET_ATA_RESERVED;

    /** {@link #classify} result bit: the request writes (else it reads). */
    public static final long WRITE = 1L << 8;

    private static final int[] READS = {0x20, 0x24, 0xC8, 0x25};
    private static final int[] WRITES = {0x30, 0x34, 0xCA, 0x35};

    private AtaRequests() {}

    /**
     * A classic BPF program for an AoE packet socket: accept the first {@link #SNAP_BYTES} bytes of
     * every AoE ATA read or write request (EtherType 0x88A2, R flag clear, Command 0, Cmd one of the
     * read/write opcodes), drop everything else, responses with their data above all. The kernel
     * then copies about 64 bytes per request to the socket and nothing per response.
     */
    public static long[] bpfFilter() {
        int ops = READS.length + WRITES.length;
        int drop = 7 + ops;
        int accept = drop + 1;
        long[] program = new long[accept + 1];
        program[0] = insn(LD_ABS_HALF, 0, 0, AoeConstants.OFFSET_ETHERTYPE);
        program[1] = insn(JEQ_K, 0, drop - 2, AoeConstants.ETHERTYPE_AOE); //  other EtherType -> drop
        program[2] = insn(LD_ABS_BYTE, 0, 0, AoeConstants.OFFSET_VERSION_FLAGS);
        program[3] = insn(JSET_K, drop - 4, 0, AoeConstants.FLAG_RESPONSE); // response -> drop
        program[4] = insn(LD_ABS_BYTE, 0, 0, AoeConstants.OFFSET_COMMAND);
        program[5] = insn(JEQ_K, 0, drop - 6, AoeCommand.ATA.code()); //       not ATA -> drop
        program[6] = insn(LD_ABS_BYTE, 0, 0, AoeConstants.OFFSET_ATA_CMD_STATUS);
        int i = 7;
        for (int[] set : new int[][] {READS, WRITES}) {
            for (int op : set) {
                program[i] = insn(JEQ_K, accept - (i + 1), 0, op); //          read/write opcode -> accept
                i++;
            }
        }
        program[drop] = insn(RET_K, 0, 0, 0);
        program[accept] = insn(RET_K, 0, 0, SNAP_BYTES);
        return program;
    }

    /**
     * Classifies one received frame without allocating.
     *
     * @param frame the frame from its Ethernet header on (at least {@code lengthBytes} long)
     * @param lengthBytes bytes received (a snapped frame counts as received)
     * @return -1 unless the frame is an AoE ATA read or write request of at least {@link
     *     #MIN_BYTES} bytes; else the sector count (bits 0–7), {@link #WRITE}, the slot (minor,
     *     bits 16–23) and the shelf (major, bits 24–39); see {@link #sectors}, {@link #isWrite},
     *     {@link #slot}, {@link #shelf}
     */
    public static long classify(byte[] frame, int lengthBytes) {
        return classify(frame, lengthBytes, Integer.MAX_VALUE);
    }

    /**
     * Classifies like {@link #classify(byte[], int)}, knowing the frame's length on the wire: a write
     * request whose frame is too short for the data its Sector Count announces (AoEr11 §3.6: the
     * data follows the ATA header) is refused by the exporter (vblade answers with an error; checked
     * with a 255-sector write without data) and moves no data, so it is not I/O: -1.
     *
     * @param wireBytes the frame's length on the wire, of which {@code frame} may hold only a snap
     */
    public static long classify(byte[] frame, int lengthBytes, int wireBytes) {
        long c = classifyHeader(frame, lengthBytes);
        if (c >= 0 && isWrite(c) && wireBytes < AoeConstants.OFFSET_ATA_DATA + bytes(c)) {
            return -1;
        }
        return c;
    }

    private static long classifyHeader(byte[] frame, int lengthBytes) {
        if (lengthBytes < MIN_BYTES || frame.length < MIN_BYTES
                || (((frame[AoeConstants.OFFSET_ETHERTYPE] & 0xFF) << 8) | (frame[AoeConstants.OFFSET_ETHERTYPE + 1] & 0xFF))
                        != AoeConstants.ETHERTYPE_AOE
                || (frame[AoeConstants.OFFSET_VERSION_FLAGS] & AoeConstants.FLAG_RESPONSE) != 0
                || frame[AoeConstants.OFFSET_COMMAND] != AoeCommand.ATA.code()) {
            return -1;
        }
        int op = frame[AoeConstants.OFFSET_ATA_CMD_STATUS] & 0xFF;
        long write;
        if (contains(READS, op)) {
            write = 0;
        } else if (contains(WRITES, op)) {
            write = WRITE;
        } else {
            return -1;
        }
        long shelf = ((frame[AoeConstants.OFFSET_MAJOR] & 0xFF) << 8) | (frame[AoeConstants.OFFSET_MAJOR + 1] & 0xFF);
        long slot = frame[AoeConstants.OFFSET_MINOR] & 0xFF;
        return (frame[AoeConstants.OFFSET_ATA_SECTOR_COUNT] & 0xFF) | write | (slot << 16) | (shelf << 24);
    }

    /** Sectors (512 bytes) a {@link #classify} result asks for. */
    public static int sectors(long classified) {
        return (int) (classified & 0xFF);
    }

    /** Bytes a {@link #classify} result asks for: sectors × 512 (AoEr11 §3.6). */
    public static long bytes(long classified) {
        return (long) sectors(classified) * AoeConstants.SECTOR_BYTES;
    }

    /** Whether a {@link #classify} result is a write. */
    public static boolean isWrite(long classified) {
        return (classified & WRITE) != 0;
    }

    /** The slot (AoE minor) of a {@link #classify} result. */
    public static int slot(long classified) {
        return (int) ((classified >>> 16) & 0xFF);
    }

    /** The shelf (AoE major) of a {@link #classify} result. */
    public static int shelf(long classified) {
        return (int) ((classified >>> 24) & 0xFFFF);
    }

    /** The Ethernet source address of {@code frame} (bytes 6–11) as {@link MacAddress#value()}, without allocating. */
    public static long source(byte[] frame) {
        long mac = 0;
        for (int i = AoeConstants.OFFSET_SOURCE; i < AoeConstants.OFFSET_SOURCE + MacAddress.LENGTH_BYTES; i++) {
            mac = (mac << 8) | (frame[i] & 0xFF);
        }
        return mac;
    }

    private static boolean contains(int[] values, int v) {
        for (int x : values) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }
}
