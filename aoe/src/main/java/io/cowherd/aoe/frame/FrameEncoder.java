package io.cowherd.aoe.frame;

import static io.cowherd.aoe.frame.AoeConstants.*;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Encodes an {@link AoeMessage} into one Ethernet frame (no FCS, no padding: a NIC pads short
 * frames to 60 bytes itself, veth does not and AoE targets accept short frames). Reserved fields
 * are written as zero (AoEr11 §1). Stateless and thread-safe; use {@link #INSTANCE}.
 */
public final class FrameEncoder {

    /** The one instance. */
    public static final FrameEncoder INSTANCE = new FrameEncoder();

    private FrameEncoder() {}

    /** Length of the encoded frame in bytes: 36 + data for ATA, 32 + config string for Query Config. */
    public int lengthBytes(AoeMessage message) {
        return switch (message) {
            case AtaMessage m -> ATA_HEADER_BYTES + m.data().length;
            case QueryConfigMessage m -> QUERY_CONFIG_HEADER_BYTES + m.configString().length();
            case UnsupportedCommandMessage m -> AOE_HEADER_BYTES + m.argument().length;
        };
    }

    /** Encodes into a new array of exactly {@link #lengthBytes} bytes. */
    public byte[] encode(AoeMessage message) {
        byte[] frame = new byte[lengthBytes(message)];
        encode(message, frame, 0);
        return frame;
    }

    /**
     * Encodes into {@code destination} at {@code offset}, overwriting every byte of the frame (so a
     * buffer can be reused).
     *
     * @return the frame length in bytes
     * @throws IndexOutOfBoundsException if the frame does not fit
     */
    public int encode(AoeMessage message, byte[] destination, int offset) {
        int lengthBytes = lengthBytes(message);
        Objects.checkFromIndexSize(offset, lengthBytes, destination.length);
        Writer w = new Writer(destination, offset);
        message.ethernet().destination().write(destination, offset + OFFSET_DESTINATION);
        message.ethernet().source().write(destination, offset + OFFSET_SOURCE);
        w.u16(OFFSET_ETHERTYPE, ETHERTYPE_AOE);
        AoeHeader h = message.header();
        w.u8(OFFSET_VERSION_FLAGS, h.versionFlagsByte());
        w.u8(OFFSET_ERROR, h.error().code());
        w.u16(OFFSET_MAJOR, h.target().shelf());
        w.u8(OFFSET_MINOR, h.target().slot());
        w.u8(OFFSET_COMMAND, h.command().code());
        w.s32(OFFSET_TAG, h.tag());
        switch (message) {
            case AtaMessage m -> {
                w.u8(OFFSET_ATA_AFLAGS, m.flags().toByte());
                w.u8(OFFSET_ATA_ERR_FEATURE, m.errFeature());
                w.u8(OFFSET_ATA_SECTOR_COUNT, m.sectorCount());
                w.u8(OFFSET_ATA_CMD_STATUS, m.cmdStatus());
                w.lba48(OFFSET_ATA_LBA, m.lba());
                w.u16(OFFSET_ATA_RESERVED, 0);
                System.arraycopy(m.data(), 0, destination, offset + OFFSET_ATA_DATA, m.data().length);
            }
            case QueryConfigMessage m -> {
                w.u16(OFFSET_CONFIG_BUFFER_COUNT, m.bufferCount());
                w.u16(OFFSET_CONFIG_FIRMWARE, m.firmwareVersion());
                w.u8(OFFSET_CONFIG_SECTOR_COUNT, m.maxSectorCount());
                w.u8(OFFSET_CONFIG_VERSION_CCMD, (m.aoeVersion() << 4) | m.configCommand().code());
                byte[] text = m.configString().getBytes(StandardCharsets.ISO_8859_1);
                w.u16(OFFSET_CONFIG_STRING_LENGTH, text.length);
                System.arraycopy(text, 0, destination, offset + OFFSET_CONFIG_STRING, text.length);
            }
            case UnsupportedCommandMessage m ->
                System.arraycopy(m.argument(), 0, destination, offset + OFFSET_ARG, m.argument().length);
        }
        return lengthBytes;
    }

    /** Big-endian field writes relative to the frame start. */
    private record Writer(byte[] bytes, int base) {

        void u8(int at, int value) {
            bytes[base + at] = (byte) value;
        }

        void u16(int at, int value) {
            u8(at, value >>> 8);
            u8(at + 1, value);
        }

        void s32(int at, int value) {
            u16(at, value >>> 16);
            u16(at + 2, value);
        }

        /** lba0 (least significant) first; AoEr11 §3.5. */
        void lba48(int at, long lba) {
            for (int i = 0; i < 6; i++) {
                u8(at + i, (int) (lba >>> (8 * i)));
            }
        }
    }
}
