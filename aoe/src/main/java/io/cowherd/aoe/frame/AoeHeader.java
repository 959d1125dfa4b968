package io.cowherd.aoe.frame;

import java.util.Objects;

/**
 * The AoE common header after the Ethernet header; AoEr11 §2 (AoE Header Format).
 *
 * @param version protocol version, 0–15; this code sends and accepts only
 *     {@link AoeConstants#AOE_VERSION}; AoEr11 §2.2 (Ver)
 * @param response the R flag: set by targets in every reply; AoEr11 §2.3 (Flags)
 * @param errorFlag the E flag: {@code error} is valid; AoEr11 §2.3 (Flags)
 * @param error the Error field; AoEr11 §2.4 (Error)
 * @param target shelf (Major) and slot (Minor); AoEr11 §2.5 (Major / Minor)
 * @param command AoEr11 §2.6 (Command)
 * @param tag 32 bits chosen by the initiator and echoed by the target; AoEr11 §2.7 (Tag)
 */
public record AoeHeader(
        int version, boolean response, boolean errorFlag, AoeError error, AoeTarget target, AoeCommand command, int tag) {

    /** @throws IllegalArgumentException if {@code version} is outside 0–15 */
    public AoeHeader {
        if (version < 0 || version > 0xF) {
            throw new IllegalArgumentException("AoE version must be 0-15, got " + version);
        }
        Objects.requireNonNull(error, "error");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(command, "command");
    }

    /** A version-1 request header without flags or error. */
    public static AoeHeader request(AoeTarget target, AoeCommand command, int tag) {
        return new AoeHeader(AoeConstants.AOE_VERSION, false, false, AoeError.NONE, target, command, tag);
    }

    /** The header of a successful reply to this request: R set, target as given (a broadcast is answered with the real address). */
    public AoeHeader reply(AoeTarget answeringTarget) {
        return new AoeHeader(version, true, false, AoeError.NONE, answeringTarget, command, tag);
    }

    /** The header of an error reply to this request: R and E set, {@code error} given. */
    public AoeHeader errorReply(AoeTarget answeringTarget, AoeError reason) {
        return new AoeHeader(version, true, true, reason, answeringTarget, command, tag);
    }

    /** The Ver/Flags byte at {@link AoeConstants#OFFSET_VERSION_FLAGS}. */
    int versionFlagsByte() {
        return (version << 4) | (response ? AoeConstants.FLAG_RESPONSE : 0) | (errorFlag ? AoeConstants.FLAG_ERROR : 0);
    }

    /** Protocol notation, e.g. {@code v1 R e7.3 ATA tag=0x0000002a} or {@code v1 RE e7.3 ATA tag=0x1 error=BAD_ARGUMENT}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("v").append(version);
        if (response || errorFlag) {
            sb.append(' ').append(response ? "R" : "").append(errorFlag ? "E" : "");
        }
        sb.append(' ').append(target).append(' ').append(command).append(" tag=0x%08x".formatted(tag));
        if (errorFlag || !error.equals(AoeError.NONE)) {
            sb.append(" error=").append(error);
        }
        return sb.toString();
    }
}
