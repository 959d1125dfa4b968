package io.cowherd.aoe.initiator;

import io.cowherd.aoe.frame.AoeTarget;
import java.io.IOException;

/** An AoE exchange with a target did not succeed. */
public abstract sealed class AoeException extends IOException
        permits AoeTimeoutException, AoeErrorException, AoeProtocolException {

    private static final long serialVersionUID = 1L;

    private final transient AoeTarget target;

    AoeException(AoeTarget target, String message) {
        super(message);
        this.target = target;
    }

    /** The target the exchange was with. */
    public AoeTarget target() {
        return target;
    }
}
