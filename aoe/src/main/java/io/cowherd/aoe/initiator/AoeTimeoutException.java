package io.cowherd.aoe.initiator;

import io.cowherd.aoe.frame.AoeTarget;
import java.time.Duration;

/**
 * A target did not answer a request after every retransmission (or did not answer discovery).
 */
public final class AoeTimeoutException extends AoeException {

    private static final long serialVersionUID = 1L;

    private final int attempts;
    private final Duration timeoutPerAttempt;

    /**
     * @param request what was asked, e.g. {@code READ_SECTORS_EXT lba=2048 sectorCount=2}
     * @param attempts transmissions made (first one included)
     * @param timeoutPerAttempt how long each attempt waited
     */
    public AoeTimeoutException(AoeTarget target, String request, int attempts, Duration timeoutPerAttempt) {
        super(target, "no reply from " + target + " to " + request + " after " + attempts + " attempts of "
                + timeoutPerAttempt.toMillis() + " ms");
        this.attempts = attempts;
        this.timeoutPerAttempt = timeoutPerAttempt;
    }

    /** Transmissions made, the first one included. */
    public int attempts() {
        return attempts;
    }

    /** How long each attempt waited for a reply. */
    public Duration timeoutPerAttempt() {
        return timeoutPerAttempt;
    }
}
