package io.cowherd.aoe.frame;

/**
 * The AoE Command field; AoEr11 §2.6 (Command). A value class: codes this code does not know are
 * kept and print as {@code UNKNOWN(n)}.
 *
 * @param code 0–255
 */
public record AoeCommand(int code) {

    /** 0: issue an ATA command; AoEr11 §3. */
    public static final AoeCommand ATA = new AoeCommand(0);
    /** 1: query config information; AoEr11 §4. */
    public static final AoeCommand QUERY_CONFIG = new AoeCommand(1);
    /** 2: MAC mask list; AoEr11 §5. */
    public static final AoeCommand MAC_MASK_LIST = new AoeCommand(2);
    /** 3: reserve / release; AoEr11 §6. */
    public static final AoeCommand RESERVE_RELEASE = new AoeCommand(3);

    /** @throws IllegalArgumentException if {@code code} is outside 0–255 */
    public AoeCommand {
        CodePoints.checkByte("AoE command", code);
    }

    /** The command for a wire value, known or not. */
    public static AoeCommand valueOf(int code) {
        return switch (code) {
            case 0 -> ATA;
            case 1 -> QUERY_CONFIG;
            case 2 -> MAC_MASK_LIST;
            case 3 -> RESERVE_RELEASE;
            default -> new AoeCommand(code);
        };
    }

    /** Whether AoEr11 defines this code (0–3). */
    public boolean isKnown() {
        return code <= 3;
    }

    @Override
    public String toString() {
        return switch (code) {
            case 0 -> "ATA";
            case 1 -> "QUERY_CONFIG";
            case 2 -> "MAC_MASK_LIST";
            case 3 -> "RESERVE_RELEASE";
            default -> "UNKNOWN(" + code + ")";
        };
    }
}
