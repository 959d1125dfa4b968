package io.cowherd.aoe.frame;

/**
 * The CCmd nibble of a Query Config message; AoEr11 §4.5 (CCmd). A value class: unknown codes are
 * kept and print as {@code UNKNOWN(n)}.
 *
 * @param code 0–15
 */
public record ConfigCommand(int code) {

    /** 0: read the config string. */
    public static final ConfigCommand READ = new ConfigCommand(0);
    /** 1: answer only if the config string equals the one sent. */
    public static final ConfigCommand TEST = new ConfigCommand(1);
    /** 2: answer only if the config string starts with the one sent. */
    public static final ConfigCommand TEST_PREFIX = new ConfigCommand(2);
    /** 3: set the config string if none is set. */
    public static final ConfigCommand SET = new ConfigCommand(3);
    /** 4: set the config string unconditionally. */
    public static final ConfigCommand FORCE_SET = new ConfigCommand(4);

    /** @throws IllegalArgumentException if {@code code} is outside 0–15 */
    public ConfigCommand {
        if (code < 0 || code > 0xF) {
            throw new IllegalArgumentException("config command (CCmd) must be 0-15, got " + code);
        }
    }

    /** The config command for a wire value, known or not. */
    public static ConfigCommand valueOf(int code) {
        return switch (code) {
            case 0 -> READ;
            case 1 -> TEST;
            case 2 -> TEST_PREFIX;
            case 3 -> SET;
            case 4 -> FORCE_SET;
            default -> new ConfigCommand(code);
        };
    }

    /** Whether AoEr11 defines this code (0–4). */
    public boolean isKnown() {
        return code <= 4;
    }

    @Override
    public String toString() {
        return switch (code) {
            case 0 -> "READ";
            case 1 -> "TEST";
            case 2 -> "TEST_PREFIX";
            case 3 -> "SET";
            case 4 -> "FORCE_SET";
            default -> "UNKNOWN(" + code + ")";
        };
    }
}
