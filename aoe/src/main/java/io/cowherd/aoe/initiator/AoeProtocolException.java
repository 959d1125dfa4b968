package io.cowherd.aoe.initiator;

import io.cowherd.aoe.frame.AoeTarget;

/**
 * A target answered with something this initiator cannot use: e.g. a read reply with the wrong
 * amount of data, an IDENTIFY reply without its 512-byte block, or a target whose MTU allows no
 * whole sector per frame.
 */
public final class AoeProtocolException extends AoeException {

    private static final long serialVersionUID = 1L;

    public AoeProtocolException(AoeTarget target, String message) {
        super(target, message);
    }
}
