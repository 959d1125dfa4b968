package io.cowherd.aoe.frame;

/**
 * The AoE Error field, valid when the E flag is set; AoEr11 §2.4 (Error). A value class: unknown
 * codes are kept and print as {@code UNKNOWN(n)}.
 *
 * @param code 0–255; 0 means no error
 */
public record AoeError(int code) {

    /** 0: no error (the field is only meaningful with the E flag). */
    public static final AoeError NONE = new AoeError(0);
    /** 1: unrecognized command code; AoEr11 §2.4. */
    public static final AoeError UNRECOGNIZED_COMMAND = new AoeError(1);
    /** 2: bad argument parameter; AoEr11 §2.4. */
    public static final AoeError BAD_ARGUMENT = new AoeError(2);
    /** 3: device unavailable; AoEr11 §2.4. */
    public static final AoeError DEVICE_UNAVAILABLE = new AoeError(3);
    /** 4: config string present (Query Config set refused); AoEr11 §2.4. */
    public static final AoeError CONFIG_STRING_PRESENT = new AoeError(4);
    /** 5: unsupported version; AoEr11 §2.4. */
    public static final AoeError UNSUPPORTED_VERSION = new AoeError(5);
    /** 6: target is reserved (by another initiator); AoEr11 §2.4. */
    public static final AoeError TARGET_RESERVED = new AoeError(6);

    /** @throws IllegalArgumentException if {@code code} is outside 0–255 */
    public AoeError {
        CodePoints.checkByte("AoE error", code);
    }

    /** The error for a wire value, known or not. */
    public static AoeError valueOf(int code) {
        return switch (code) {
            case 0 -> NONE;
            case 1 -> UNRECOGNIZED_COMMAND;
            case 2 -> BAD_ARGUMENT;
            case 3 -> DEVICE_UNAVAILABLE;
            case 4 -> CONFIG_STRING_PRESENT;
            case 5 -> UNSUPPORTED_VERSION;
            case 6 -> TARGET_RESERVED;
            default -> new AoeError(code);
        };
    }

    /** Whether AoEr11 defines this code (0–6). */
    public boolean isKnown() {
        return code <= 6;
    }

    @Override
    public String toString() {
        return switch (code) {
            case 0 -> "NONE";
            case 1 -> "UNRECOGNIZED_COMMAND";
            case 2 -> "BAD_ARGUMENT";
            case 3 -> "DEVICE_UNAVAILABLE";
            case 4 -> "CONFIG_STRING_PRESENT";
            case 5 -> "UNSUPPORTED_VERSION";
            case 6 -> "TARGET_RESERVED";
            default -> "UNKNOWN(" + code + ")";
        };
    }
}
