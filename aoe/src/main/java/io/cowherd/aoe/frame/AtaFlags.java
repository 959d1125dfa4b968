package io.cowherd.aoe.frame;

/**
 * The AFlags byte of an ATA message; AoEr11 §3.1 (AFlags). Bits 7, 5, 3 and 2 are reserved and
 * not kept.
 *
 * @param extended E (0x40): LBA48 command, all six LBA bytes are used
 * @param device D (0x10): device/head register bit 4
 * @param async A (0x02): asynchronous write, the target sends no reply
 * @param write W (0x01): the message carries data to be written
 */
public record AtaFlags(boolean extended, boolean device, boolean async, boolean write) {

    /** No flag set (LBA28 or non-data commands such as IDENTIFY DEVICE). */
    public static final AtaFlags NONE = new AtaFlags(false, false, false, false);
    /** E: an LBA48 read. */
    public static final AtaFlags EXTENDED = new AtaFlags(true, false, false, false);
    /** E and W: an LBA48 write. */
    public static final AtaFlags EXTENDED_WRITE = new AtaFlags(true, false, false, true);

    /** Decodes the AFlags byte, ignoring reserved bits. */
    public static AtaFlags fromByte(int aflags) {
        return new AtaFlags(
                (aflags & AoeConstants.AFLAG_EXTENDED) != 0,
                (aflags & AoeConstants.AFLAG_DEVICE) != 0,
                (aflags & AoeConstants.AFLAG_ASYNC) != 0,
                (aflags & AoeConstants.AFLAG_WRITE) != 0);
    }

    /** The AFlags byte. */
    public int toByte() {
        return (extended ? AoeConstants.AFLAG_EXTENDED : 0)
                | (device ? AoeConstants.AFLAG_DEVICE : 0)
                | (async ? AoeConstants.AFLAG_ASYNC : 0)
                | (write ? AoeConstants.AFLAG_WRITE : 0);
    }

    /** Letters of the set flags in spec order, e.g. {@code EW}, or {@code -} if none. */
    @Override
    public String toString() {
        String s = (extended ? "E" : "") + (device ? "D" : "") + (async ? "A" : "") + (write ? "W" : "");
        return s.isEmpty() ? "-" : s;
    }
}
