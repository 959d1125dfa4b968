package io.cowherd.aoe.initiator;

import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.aoe.frame.QueryConfigMessage;
import java.util.Objects;

/**
 * One answer to a Query Config: a target and the MAC address that answered for it (one exporter).
 * Two answers for one target from two MACs mean two exporters of the same address on the segment.
 * AoEr11 §4.
 *
 * @param target shelf and slot
 * @param mac the exporter's interface address; I/O to the target is sent here
 * @param bufferCount frames the exporter can queue; AoEr11 §4.1
 * @param maxSectorsPerFrame most 512-byte sectors per ATA command; AoEr11 §4.3
 * @param firmwareVersion AoEr11 §4.2 (vblade: 0x4000 + its version)
 * @param configString AoEr11 §4.7
 */
public record DiscoveredTarget(
        AoeTarget target, MacAddress mac, int bufferCount, int maxSectorsPerFrame, int firmwareVersion,
        String configString) {

    public DiscoveredTarget {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(mac, "mac");
        Objects.requireNonNull(configString, "configString");
    }

    /** The target and exporter described by a Query Config reply. */
    public static DiscoveredTarget of(QueryConfigMessage reply) {
        return new DiscoveredTarget(reply.target(), reply.ethernet().source(), reply.bufferCount(),
                reply.maxSectorCount(), reply.firmwareVersion(), reply.configString());
    }

    @Override
    public String toString() {
        return target + " at " + mac + " bufferCount=" + bufferCount + " maxSectorsPerFrame=" + maxSectorsPerFrame
                + " firmware=0x%04x".formatted(firmwareVersion) + " config=\"" + configString + "\"";
    }
}
