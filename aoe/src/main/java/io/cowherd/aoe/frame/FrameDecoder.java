package io.cowherd.aoe.frame;

import static io.cowherd.aoe.frame.AoeConstants.*;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * Decodes one Ethernet frame into an {@link AoeMessage}. Stateless and thread-safe; use
 * {@link #INSTANCE}.
 *
 * <p>Short frames are accepted: a frame only has to be as long as its own fields (24 bytes for
 * the header, 36 for ATA, 32 plus the config string for Query Config). vblade sends 32-byte Query
 * Config replies that veth does not pad to Ethernet's 60 bytes. Conversely, bytes after the last
 * field of a frame no longer than 60 bytes are taken as Ethernet padding and dropped.
 */
public final class FrameDecoder {

    /** The one instance. */
    public static final FrameDecoder INSTANCE = new FrameDecoder();

    private FrameDecoder() {}

    /**
     * Decodes a whole array as one frame.
     *
     * @throws MalformedFrameException if the frame is too short, not AoE, not version 1, or its
     *     argument is inconsistent (see {@link #decode(byte[], int, int)})
     */
    public AoeMessage decode(byte[] frame) throws MalformedFrameException {
        return decode(frame, 0, frame.length);
    }

    /**
     * Decodes {@code lengthBytes} bytes at {@code offset} as one frame starting with the Ethernet
     * header. The returned message does not share memory with {@code frame}.
     *
     * @throws MalformedFrameException (offsets relative to the frame start) when the frame is
     *     shorter than the 24-byte header (AoEr11 §2), its Ethernet type is not 0x88A2 (§2.1), its
     *     version is not 1 (§2.2), an ATA message is shorter than 36 bytes (§3), a write request's
     *     data is not Sector Count × 512 bytes or other ATA data is not whole sectors (§3.3, §3.6),
     *     a Query Config message is shorter than 32 bytes (§4) or its config string length exceeds
     *     1024 bytes or the frame (§4.6)
     * @throws IndexOutOfBoundsException if the range lies outside {@code frame}
     */
    public AoeMessage decode(byte[] frame, int offset, int lengthBytes) throws MalformedFrameException {
        Objects.checkFromIndexSize(offset, lengthBytes, frame.length);
        Reader r = new Reader(frame, offset, lengthBytes);
        if (lengthBytes < AOE_HEADER_BYTES) {
            throw new MalformedFrameException(lengthBytes, "frame of " + lengthBytes
                    + " bytes is shorter than the 24-byte Ethernet + AoE header (AoEr11 §2)");
        }
        int ethertype = r.u16(OFFSET_ETHERTYPE);
        if (ethertype != ETHERTYPE_AOE) {
            throw new MalformedFrameException(OFFSET_ETHERTYPE,
                    "Ethernet type 0x%04x is not AoE 0x88a2 (AoEr11 §2.1)".formatted(ethertype));
        }
        int versionFlags = r.u8(OFFSET_VERSION_FLAGS);
        int version = versionFlags >>> 4;
        if (version != AOE_VERSION) {
            throw new MalformedFrameException(OFFSET_VERSION_FLAGS,
                    "AoE version " + version + " is not supported, only 1 (AoEr11 §2.2)");
        }
        EthernetHeader ethernet = new EthernetHeader(r.mac(OFFSET_DESTINATION), r.mac(OFFSET_SOURCE));
        AoeHeader header = new AoeHeader(
                version,
                (versionFlags & FLAG_RESPONSE) != 0,
                (versionFlags & FLAG_ERROR) != 0,
                AoeError.valueOf(r.u8(OFFSET_ERROR)),
                new AoeTarget(r.u16(OFFSET_MAJOR), r.u8(OFFSET_MINOR)),
                AoeCommand.valueOf(r.u8(OFFSET_COMMAND)),
                r.s32(OFFSET_TAG));
        return switch (header.command().code()) {
            case 0 -> decodeAta(r, ethernet, header);
            case 1 -> decodeQueryConfig(r, ethernet, header);
            default -> new UnsupportedCommandMessage(ethernet, header, r.bytes(OFFSET_ARG, lengthBytes - OFFSET_ARG));
        };
    }

    private static AtaMessage decodeAta(Reader r, EthernetHeader ethernet, AoeHeader header)
            throws MalformedFrameException {
        if (r.length < ATA_HEADER_BYTES) {
            throw new MalformedFrameException(r.length, "ATA message of " + r.length
                    + " bytes is shorter than its 36-byte header (AoEr11 §3)");
        }
        AtaFlags flags = AtaFlags.fromByte(r.u8(OFFSET_ATA_AFLAGS));
        int sectorCount = r.u8(OFFSET_ATA_SECTOR_COUNT);
        int dataBytes = r.length - ATA_HEADER_BYTES;
        boolean padded = r.length <= MIN_ETHERNET_FRAME_BYTES;
        if (flags.write() && !header.response()) {
            int expectedBytes = sectorCount * SECTOR_BYTES;
            if (dataBytes != expectedBytes) {
                if (expectedBytes != 0 || !padded) {
                    throw new MalformedFrameException(OFFSET_ATA_DATA, "write request of " + sectorCount
                            + " sectors carries " + dataBytes + " bytes of data, expected " + expectedBytes
                            + " (AoEr11 §3.3 Sector Count, §3.6 Data)");
                }
                dataBytes = 0;
            }
        } else if (dataBytes % SECTOR_BYTES != 0) {
            if (!padded) {
                throw new MalformedFrameException(OFFSET_ATA_DATA, "ATA data of " + dataBytes
                        + " bytes is not a whole number of 512-byte sectors (AoEr11 §3.6 Data)");
            }
            dataBytes = 0;
        }
        return new AtaMessage(ethernet, header, flags,
                r.u8(OFFSET_ATA_ERR_FEATURE),
                sectorCount,
                r.u8(OFFSET_ATA_CMD_STATUS),
                r.lba48(OFFSET_ATA_LBA),
                r.bytes(OFFSET_ATA_DATA, dataBytes));
    }

    private static QueryConfigMessage decodeQueryConfig(Reader r, EthernetHeader ethernet, AoeHeader header)
            throws MalformedFrameException {
        if (r.length < QUERY_CONFIG_HEADER_BYTES) {
            throw new MalformedFrameException(r.length, "Query Config message of " + r.length
                    + " bytes is shorter than its 32-byte header (AoEr11 §4)");
        }
        int stringBytes = r.u16(OFFSET_CONFIG_STRING_LENGTH);
        if (stringBytes > MAX_CONFIG_STRING_BYTES) {
            throw new MalformedFrameException(OFFSET_CONFIG_STRING_LENGTH, "config string length " + stringBytes
                    + " bytes exceeds 1024 (AoEr11 §4.6 Config String Length)");
        }
        if (OFFSET_CONFIG_STRING + stringBytes > r.length) {
            throw new MalformedFrameException(OFFSET_CONFIG_STRING_LENGTH, "config string length " + stringBytes
                    + " bytes runs past the end of the " + r.length + "-byte frame (AoEr11 §4.6 Config String Length)");
        }
        int versionCcmd = r.u8(OFFSET_CONFIG_VERSION_CCMD);
        return new QueryConfigMessage(ethernet, header,
                r.u16(OFFSET_CONFIG_BUFFER_COUNT),
                r.u16(OFFSET_CONFIG_FIRMWARE),
                r.u8(OFFSET_CONFIG_SECTOR_COUNT),
                versionCcmd >>> 4,
                ConfigCommand.valueOf(versionCcmd & 0xF),
                r.latin1(OFFSET_CONFIG_STRING, stringBytes));
    }

    /** Big-endian field reads relative to the frame start. */
    private record Reader(byte[] bytes, int base, int length) {

        int u8(int at) {
            return bytes[base + at] & 0xFF;
        }

        int u16(int at) {
            return (u8(at) << 8) | u8(at + 1);
        }

        int s32(int at) {
            return (u16(at) << 16) | u16(at + 2);
        }

        /** lba0 is the least significant byte; AoEr11 §3.5. */
        long lba48(int at) {
            long v = 0;
            for (int i = 5; i >= 0; i--) {
                v = (v << 8) | u8(at + i);
            }
            return v;
        }

        MacAddress mac(int at) {
            return MacAddress.read(bytes, base + at);
        }

        byte[] bytes(int at, int count) {
            return Arrays.copyOfRange(bytes, base + at, base + at + count);
        }

        String latin1(int at, int count) {
            return new String(bytes, base + at, count, StandardCharsets.ISO_8859_1);
        }
    }
}
