package io.cowherd.aoe.frame;

/**
 * One AoE frame: Ethernet header, AoE header and the argument of its command; AoEr11 §2.
 * {@link FrameDecoder} produces these and {@link FrameEncoder} turns them back into bytes.
 */
public sealed interface AoeMessage permits AtaMessage, QueryConfigMessage, UnsupportedCommandMessage {

    /** Addresses; AoEr11 §2.1. */
    EthernetHeader ethernet();

    /** Version, flags, error, target, command and tag; AoEr11 §2.2–§2.7. */
    AoeHeader header();

    /** Shorthand for {@code header().target()}. */
    default AoeTarget target() {
        return header().target();
    }

    /** Shorthand for {@code header().tag()}. */
    default int tag() {
        return header().tag();
    }

    /** Shorthand for {@code header().response()}. */
    default boolean isResponse() {
        return header().response();
    }
}
