package io.cowherd.aoe.frame;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A message whose command this code does not model: MAC Mask List (AoEr11 §5), Reserve/Release
 * (AoEr11 §6), vendor or unknown commands. The Arg field is kept as bytes so the frame
 * round-trips; AoEr11 §2.8 (Arg).
 *
 * <p>The {@code argument} array is not copied; do not change it after building the message.
 *
 * @param ethernet addresses; AoEr11 §2.1
 * @param header AoE header; its command is anything but ATA and QUERY_CONFIG
 * @param argument everything after the 24-byte header (including any Ethernet padding)
 */
public record UnsupportedCommandMessage(EthernetHeader ethernet, AoeHeader header, byte[] argument)
        implements AoeMessage {

    /** @throws IllegalArgumentException if the header's command is ATA or QUERY_CONFIG */
    public UnsupportedCommandMessage {
        Objects.requireNonNull(ethernet, "ethernet");
        Objects.requireNonNull(header, "header");
        Objects.requireNonNull(argument, "argument");
        if (header.command().equals(AoeCommand.ATA) || header.command().equals(AoeCommand.QUERY_CONFIG)) {
            throw new IllegalArgumentException("command " + header.command() + " has its own message type");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UnsupportedCommandMessage m
                && ethernet.equals(m.ethernet) && header.equals(m.header) && Arrays.equals(argument, m.argument);
    }

    @Override
    public int hashCode() {
        return Objects.hash(ethernet, header, Arrays.hashCode(argument));
    }

    /** Protocol notation with the argument in hex (first 32 bytes). */
    @Override
    public String toString() {
        int shown = Math.min(argument.length, 32);
        return ethernet + " " + header + " arg=" + HexFormat.of().formatHex(argument, 0, shown)
                + (shown < argument.length ? "... (" + argument.length + " bytes)" : "");
    }
}
