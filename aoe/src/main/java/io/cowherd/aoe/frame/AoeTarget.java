package io.cowherd.aoe.frame;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An AoE address: shelf (AoE "major", 16 bit) and slot (AoE "minor", 8 bit); AoEr11 §2.5
 * (Major / Minor). Prints as {@code e<shelf>.<slot>}, for example {@code e7.3}.
 *
 * <p>Every value that fits the wire fields is accepted, including the broadcast values 65535 and
 * 255; what a pool may use (design.md: shelves 0–65534 except 4095, slots 0–254) is checked by
 * the callers that assign addresses.
 *
 * @param shelf 0–65535
 * @param slot 0–255
 */
public record AoeTarget(int shelf, int slot) implements Comparable<AoeTarget> {

    /** {@code e65535.255}: every shelf and slot, used by discovery; AoEr11 §2.5. */
    public static final AoeTarget BROADCAST = new AoeTarget(AoeConstants.BROADCAST_SHELF, AoeConstants.BROADCAST_SLOT);

    private static final Pattern NOTATION = Pattern.compile("e(\\d{1,5})\\.(\\d{1,3})");

    /** @throws IllegalArgumentException if shelf is outside 0–65535 or slot outside 0–255 */
    public AoeTarget {
        if (shelf < 0 || shelf > 0xFFFF) {
            throw new IllegalArgumentException("shelf must be 0-65535, got " + shelf);
        }
        if (slot < 0 || slot > 0xFF) {
            throw new IllegalArgumentException("slot must be 0-255, got " + slot);
        }
    }

    /**
     * Parses {@code e7.3}.
     *
     * @throws IllegalArgumentException if the text is not {@code e<shelf>.<slot>} with valid numbers
     */
    public static AoeTarget parse(String text) {
        Matcher m = NOTATION.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("not an AoE target (e<shelf>.<slot>): '" + text + "'");
        }
        return new AoeTarget(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
    }

    /** Whether shelf or slot is a broadcast value, so the address matches more than one target. */
    public boolean isBroadcast() {
        return shelf == AoeConstants.BROADCAST_SHELF || slot == AoeConstants.BROADCAST_SLOT;
    }

    /**
     * Whether a target at this address answers a message sent to {@code address}
     * (equal, or broadcast in shelf and/or slot); AoEr11 §2.5.
     */
    public boolean isAddressedBy(AoeTarget address) {
        return (address.shelf == AoeConstants.BROADCAST_SHELF || address.shelf == shelf)
                && (address.slot == AoeConstants.BROADCAST_SLOT || address.slot == slot);
    }

    @Override
    public int compareTo(AoeTarget other) {
        int c = Integer.compare(shelf, other.shelf);
        return c != 0 ? c : Integer.compare(slot, other.slot);
    }

    @Override
    public String toString() {
        return "e" + shelf + "." + slot;
    }
}
