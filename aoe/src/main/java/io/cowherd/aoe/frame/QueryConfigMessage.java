package io.cowherd.aoe.frame;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A Query Config Information message (AoE command 1); AoEr11 §4. Initiators send it (usually to
 * {@link AoeTarget#BROADCAST}) to discover targets; each target answers with its buffer count,
 * firmware version, the most sectors one ATA command may carry and its config string.
 *
 * @param ethernet addresses; AoEr11 §2.1
 * @param header AoE header; its command must be {@link AoeCommand#QUERY_CONFIG}
 * @param bufferCount frames the target can queue, 0–65535 (0 in requests); AoEr11 §4.1
 * @param firmwareVersion target firmware version, 0–65535 (0 in requests); AoEr11 §4.2
 * @param maxSectorCount most 512-byte sectors one ATA command may carry, 0–255 (0 in requests);
 *     vblade reports (MTU − 36) / 512; AoEr11 §4.3 (Sector Count)
 * @param aoeVersion highest AoE version the target supports, 0–15; AoEr11 §4.4 (AoE Ver)
 * @param configCommand AoEr11 §4.5 (CCmd)
 * @param configString at most 1024 bytes, kept as ISO-8859-1 so every byte round-trips;
 *     AoEr11 §4.6 (Config String Length), §4.7 (Config String)
 */
public record QueryConfigMessage(
        EthernetHeader ethernet,
        AoeHeader header,
        int bufferCount,
        int firmwareVersion,
        int maxSectorCount,
        int aoeVersion,
        ConfigCommand configCommand,
        String configString)
        implements AoeMessage {

    /** @throws IllegalArgumentException if a field is out of range or the header's command is not QUERY_CONFIG */
    public QueryConfigMessage {
        Objects.requireNonNull(ethernet, "ethernet");
        Objects.requireNonNull(header, "header");
        Objects.requireNonNull(configCommand, "configCommand");
        Objects.requireNonNull(configString, "configString");
        if (!header.command().equals(AoeCommand.QUERY_CONFIG)) {
            throw new IllegalArgumentException("a Query Config message needs command QUERY_CONFIG, got " + header.command());
        }
        CodePoints.checkRange("buffer count", bufferCount, 0xFFFF);
        CodePoints.checkRange("firmware version", firmwareVersion, 0xFFFF);
        CodePoints.checkByte("sector count", maxSectorCount);
        CodePoints.checkRange("AoE version", aoeVersion, 0xF);
        if (!StandardCharsets.ISO_8859_1.newEncoder().canEncode(configString)) {
            throw new IllegalArgumentException("config string must be ISO-8859-1 (one byte per character)");
        }
        CodePoints.checkRange("config string length", configString.length(), AoeConstants.MAX_CONFIG_STRING_BYTES);
    }

    /** A request reading the config string of {@code target} (broadcast for discovery). */
    public static QueryConfigMessage readRequest(EthernetHeader ethernet, AoeTarget target, int tag) {
        return new QueryConfigMessage(ethernet, AoeHeader.request(target, AoeCommand.QUERY_CONFIG, tag), 0, 0, 0,
                AoeConstants.AOE_VERSION, ConfigCommand.READ, "");
    }

    /** Length of the config string in bytes. */
    public int configStringLengthBytes() {
        return configString.length();
    }

    /**
     * Protocol notation, e.g. {@code ... v1 R e7.3 QUERY_CONFIG tag=0x00000001 bufferCount=16
     * firmware=0x4016 maxSectorCount=2 aoeVersion=1 ccmd=READ config=""}.
     */
    @Override
    public String toString() {
        return ethernet + " " + header + " bufferCount=" + bufferCount + " firmware=0x%04x".formatted(firmwareVersion)
                + " maxSectorCount=" + maxSectorCount + " aoeVersion=" + aoeVersion + " ccmd=" + configCommand
                + " config=\"" + configString + "\"";
    }
}
