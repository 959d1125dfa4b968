package io.cowherd.aoe.frame;

import java.util.HexFormat;
import java.util.Objects;

/**
 * A 48-bit Ethernet (MAC) address, held in the low 48 bits of a {@code long}; AoEr11 §2.1.
 * Prints as {@code 02:fc:00:00:00:01}.
 *
 * @param value the address, bits 47..0 = first..last byte on the wire
 */
public record MacAddress(long value) {

    /** Bytes in a MAC address. */
    public static final int LENGTH_BYTES = 6;
    /** {@code ff:ff:ff:ff:ff:ff}, every station on the segment. */
    public static final MacAddress BROADCAST = new MacAddress(0xFFFF_FFFF_FFFFL);

    private static final HexFormat HEX = HexFormat.ofDelimiter(":");

    /** @throws IllegalArgumentException if {@code value} does not fit in 48 bits */
    public MacAddress {
        if ((value & ~0xFFFF_FFFF_FFFFL) != 0) {
            throw new IllegalArgumentException("MAC address does not fit in 48 bits: 0x" + Long.toHexString(value));
        }
    }

    /**
     * Reads 6 bytes in wire order.
     *
     * @throws IndexOutOfBoundsException if fewer than 6 bytes follow {@code offset}
     */
    public static MacAddress read(byte[] bytes, int offset) {
        Objects.checkFromIndexSize(offset, LENGTH_BYTES, bytes.length);
        long v = 0;
        for (int i = 0; i < LENGTH_BYTES; i++) {
            v = (v << 8) | (bytes[offset + i] & 0xFF);
        }
        return new MacAddress(v);
    }

    /**
     * The address of exactly 6 bytes.
     *
     * @throws IllegalArgumentException if {@code bytes} is not 6 bytes long
     */
    public static MacAddress of(byte[] bytes) {
        if (bytes.length != LENGTH_BYTES) {
            throw new IllegalArgumentException("a MAC address has 6 bytes, got " + bytes.length);
        }
        return read(bytes, 0);
    }

    /**
     * Parses {@code 02:fc:00:00:00:01} (case-insensitive, colon-separated).
     *
     * @throws IllegalArgumentException if the text is not six colon-separated hex bytes
     */
    public static MacAddress parse(String text) {
        byte[] bytes;
        try {
            bytes = HEX.parseHex(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a MAC address: '" + text + "'", e);
        }
        return of(bytes);
    }

    /** Writes the 6 bytes in wire order at {@code offset}. */
    public void write(byte[] destination, int offset) {
        Objects.checkFromIndexSize(offset, LENGTH_BYTES, destination.length);
        for (int i = 0; i < LENGTH_BYTES; i++) {
            destination[offset + i] = (byte) (value >>> (8 * (LENGTH_BYTES - 1 - i)));
        }
    }

    /** A new 6-byte array in wire order. */
    public byte[] toBytes() {
        byte[] bytes = new byte[LENGTH_BYTES];
        write(bytes, 0);
        return bytes;
    }

    /** Whether this is {@code ff:ff:ff:ff:ff:ff}. */
    public boolean isBroadcast() {
        return equals(BROADCAST);
    }

    @Override
    public String toString() {
        return HEX.formatHex(toBytes());
    }
}
