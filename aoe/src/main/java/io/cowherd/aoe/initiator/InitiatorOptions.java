package io.cowherd.aoe.initiator;

import java.time.Duration;
import java.util.Objects;

/**
 * Tuning of {@link AoeInitiator}.
 *
 * @param frameTimeout how long to wait for the reply to one frame before sending it again
 * @param maxRetries retransmissions of one frame before giving up with {@link AoeTimeoutException}
 *     (so a frame is sent at most {@code maxRetries + 1} times)
 * @param maxFramesInFlight upper bound of the window of outstanding frames (tags); the window is
 *     also bounded by the target's buffer count. 1–256.
 */
public record InitiatorOptions(Duration frameTimeout, int maxRetries, int maxFramesInFlight) {

    /** Frame timeout 500 ms, 5 retries, up to 16 frames in flight. */
    public static InitiatorOptions defaults() {
        return new InitiatorOptions(Duration.ofMillis(500), 5, 16);
    }

    /** @throws IllegalArgumentException if a value is out of range */
    public InitiatorOptions {
        Objects.requireNonNull(frameTimeout, "frameTimeout");
        if (frameTimeout.isNegative() || frameTimeout.isZero()) {
            throw new IllegalArgumentException("frameTimeout must be positive, got " + frameTimeout);
        }
        if (maxRetries < 0) {
            throw new IllegalArgumentException("maxRetries must be >= 0, got " + maxRetries);
        }
        if (maxFramesInFlight < 1 || maxFramesInFlight > 256) {
            throw new IllegalArgumentException("maxFramesInFlight must be 1-256, got " + maxFramesInFlight);
        }
    }

    public InitiatorOptions withFrameTimeout(Duration value) {
        return new InitiatorOptions(value, maxRetries, maxFramesInFlight);
    }

    public InitiatorOptions withMaxRetries(int value) {
        return new InitiatorOptions(frameTimeout, value, maxFramesInFlight);
    }

    public InitiatorOptions withMaxFramesInFlight(int value) {
        return new InitiatorOptions(frameTimeout, maxRetries, value);
    }
}
