package io.cowherd.aoe.initiator;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Tags for one initiator: {@code (sequence << 8) | slot}, the 24-bit sequence starting at a random
 * value so that two initiators on one interface (which share its MAC) rarely collide; AoEr11 §2.7
 * (the tag is the initiator's to choose; targets echo it).
 */
final class TagSequence {

    private int sequence = ThreadLocalRandom.current().nextInt(1 << 24);

    /** A new tag for window slot {@code slot} (0–255). */
    int next(int slot) {
        sequence = (sequence + 1) & 0xFF_FFFF;
        return (sequence << 8) | (slot & 0xFF);
    }
}
