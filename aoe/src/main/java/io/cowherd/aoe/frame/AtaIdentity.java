package io.cowherd.aoe.frame;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * What an ATA IDENTIFY DEVICE (0xEC) reply says about a device: capacity and names. Parsed from the
 * 512-byte data block (256 little-endian 16-bit words) as laid out by ATA8-ACS (IDENTIFY DEVICE
 * data): words 10–19 serial number, 23–26 firmware revision, 27–46 model number (ATA strings: two
 * characters per word, the first in the high byte), words 60–61 LBA28 capacity, word 83 bit 10
 * 48-bit address feature set supported, words 100–103 LBA48 capacity.
 *
 * @param sectorCount capacity in 512-byte sectors: the LBA48 capacity if LBA48 is supported, else
 *     the LBA28 capacity
 * @param lba28SectorCount words 60–61, sectors (vblade caps it at 0x0FFFFFFF)
 * @param lba48Supported word 83 bit 10
 * @param model words 27–46, trailing blanks removed
 * @param serialNumber words 10–19, trailing blanks removed
 * @param firmwareRevision words 23–26, trailing blanks removed
 */
public record AtaIdentity(
        long sectorCount,
        long lba28SectorCount,
        boolean lba48Supported,
        String model,
        String serialNumber,
        String firmwareRevision) {

    /** Length of the IDENTIFY DEVICE data block, bytes. */
    public static final int BLOCK_BYTES = 512;

    public AtaIdentity {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(serialNumber, "serialNumber");
        Objects.requireNonNull(firmwareRevision, "firmwareRevision");
    }

    /**
     * Parses the IDENTIFY DEVICE data block at {@code offset}.
     *
     * @throws IllegalArgumentException if fewer than 512 bytes follow {@code offset}
     */
    public static AtaIdentity parse(byte[] block, int offset) {
        if (offset < 0 || block.length - offset < BLOCK_BYTES) {
            throw new IllegalArgumentException("IDENTIFY DEVICE data is 512 bytes, got " + (block.length - offset));
        }
        Words w = new Words(block, offset);
        long lba28 = w.word(60) | ((long) w.word(61) << 16);
        boolean lba48Supported = (w.word(83) & (1 << 10)) != 0;
        long lba48 = w.word(100) | ((long) w.word(101) << 16) | ((long) w.word(102) << 32) | ((long) w.word(103) << 48);
        return new AtaIdentity(
                lba48Supported ? lba48 : lba28,
                lba28,
                lba48Supported,
                w.string(27, 20),
                w.string(10, 10),
                w.string(23, 4));
    }

    /** Parses a block of exactly 512 bytes; see {@link #parse(byte[], int)}. */
    public static AtaIdentity parse(byte[] block) {
        return parse(block, 0);
    }

    /** Capacity in bytes ({@code sectorCount × 512}). */
    public long sizeBytes() {
        return sectorCount * AoeConstants.SECTOR_BYTES;
    }

    private record Words(byte[] bytes, int base) {

        int word(int index) {
            return (bytes[base + 2 * index] & 0xFF) | ((bytes[base + 2 * index + 1] & 0xFF) << 8);
        }

        /** An ATA string of {@code words} words: high byte first in each word. */
        String string(int first, int words) {
            byte[] chars = new byte[2 * words];
            for (int i = 0; i < words; i++) {
                int word = word(first + i);
                chars[2 * i] = (byte) (word >>> 8);
                chars[2 * i + 1] = (byte) word;
            }
            return new String(chars, StandardCharsets.ISO_8859_1).replaceAll("[ \\x00]+$", "");
        }
    }
}
