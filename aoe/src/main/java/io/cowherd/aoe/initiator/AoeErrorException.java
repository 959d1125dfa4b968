package io.cowherd.aoe.initiator;

import io.cowherd.aoe.frame.AoeError;
import io.cowherd.aoe.frame.AoeTarget;

/**
 * A target refused a request: either the AoE E flag was set (AoEr11 §2.3, with the Error field of
 * §2.4) or the ATA status had ERR or DF set (AoEr11 §3.4; the ATA error register is in Err/Feature,
 * §3.2), e.g. ABRT for FLUSH CACHE EXT on vblade or IDNF for an LBA beyond the end.
 */
public final class AoeErrorException extends AoeException {

    private static final long serialVersionUID = 1L;

    private final transient AoeError aoeError;
    private final int ataStatus;
    private final int ataError;

    private AoeErrorException(AoeTarget target, String message, AoeError aoeError, int ataStatus, int ataError) {
        super(target, message);
        this.aoeError = aoeError;
        this.ataStatus = ataStatus;
        this.ataError = ataError;
    }

    /** The target set the AoE error flag. */
    static AoeErrorException aoe(AoeTarget target, String request, AoeError error) {
        return new AoeErrorException(target, target + " rejected " + request + " with AoE error " + error, error, 0, 0);
    }

    /** The ATA command failed on the target. */
    static AoeErrorException ata(AoeTarget target, String request, int status, int error) {
        return new AoeErrorException(target, target + " failed " + request
                + " with ATA status 0x%02x error 0x%02x".formatted(status, error), AoeError.NONE, status, error);
    }

    /** Whether the AoE layer refused the request (E flag) rather than the ATA command failing. */
    public boolean isAoeLevel() {
        return !aoeError.equals(AoeError.NONE);
    }

    /** The AoE Error field, {@link AoeError#NONE} if the ATA command failed instead. */
    public AoeError aoeError() {
        return aoeError;
    }

    /** The ATA status register of the reply (0 for AoE-level errors). */
    public int ataStatus() {
        return ataStatus;
    }

    /** The ATA error register of the reply, e.g. 0x04 ABRT, 0x10 IDNF (0 for AoE-level errors). */
    public int ataError() {
        return ataError;
    }
}
