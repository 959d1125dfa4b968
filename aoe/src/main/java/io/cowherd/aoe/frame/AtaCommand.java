package io.cowherd.aoe.frame;

/**
 * An ATA command register value as carried in Cmd/Status of a request; AoEr11 §3.4 (Cmd/Status),
 * opcodes from ATA8-ACS. A value class: other opcodes are kept and print as {@code UNKNOWN(0xNN)}.
 *
 * @param opcode 0–255
 */
public record AtaCommand(int opcode) {

    /** 0x20 READ SECTORS (LBA28). */
    public static final AtaCommand READ_SECTORS = new AtaCommand(0x20);
    /** 0x24 READ SECTORS EXT (LBA48; send with AFlags E). */
    public static final AtaCommand READ_SECTORS_EXT = new AtaCommand(0x24);
    /** 0x30 WRITE SECTORS (LBA28). */
    public static final AtaCommand WRITE_SECTORS = new AtaCommand(0x30);
    /** 0x34 WRITE SECTORS EXT (LBA48; send with AFlags E and W). */
    public static final AtaCommand WRITE_SECTORS_EXT = new AtaCommand(0x34);
    /** 0xE5 CHECK POWER MODE. */
    public static final AtaCommand CHECK_POWER_MODE = new AtaCommand(0xE5);
    /** 0xE7 FLUSH CACHE (vblade accepts it). */
    public static final AtaCommand FLUSH_CACHE = new AtaCommand(0xE7);
    /** 0xEA FLUSH CACHE EXT (vblade aborts it with ABRT). */
    public static final AtaCommand FLUSH_CACHE_EXT = new AtaCommand(0xEA);
    /** 0xEC IDENTIFY DEVICE: one 512-byte block, see {@link AtaIdentity}. */
    public static final AtaCommand IDENTIFY_DEVICE = new AtaCommand(0xEC);

    /** @throws IllegalArgumentException if {@code opcode} is outside 0–255 */
    public AtaCommand {
        CodePoints.checkByte("ATA command", opcode);
    }

    /** The command for a register value, known or not. */
    public static AtaCommand valueOf(int opcode) {
        return switch (opcode) {
            case 0x20 -> READ_SECTORS;
            case 0x24 -> READ_SECTORS_EXT;
            case 0x30 -> WRITE_SECTORS;
            case 0x34 -> WRITE_SECTORS_EXT;
            case 0xE5 -> CHECK_POWER_MODE;
            case 0xE7 -> FLUSH_CACHE;
            case 0xEA -> FLUSH_CACHE_EXT;
            case 0xEC -> IDENTIFY_DEVICE;
            default -> new AtaCommand(opcode);
        };
    }

    /** Whether this class names the opcode. */
    public boolean isKnown() {
        return !name().isEmpty();
    }

    private String name() {
        return switch (opcode) {
            case 0x20 -> "READ_SECTORS";
            case 0x24 -> "READ_SECTORS_EXT";
            case 0x30 -> "WRITE_SECTORS";
            case 0x34 -> "WRITE_SECTORS_EXT";
            case 0xE5 -> "CHECK_POWER_MODE";
            case 0xE7 -> "FLUSH_CACHE";
            case 0xEA -> "FLUSH_CACHE_EXT";
            case 0xEC -> "IDENTIFY_DEVICE";
            default -> "";
        };
    }

    @Override
    public String toString() {
        String name = name();
        return name.isEmpty() ? "UNKNOWN(0x%02x)".formatted(opcode) : name;
    }
}
