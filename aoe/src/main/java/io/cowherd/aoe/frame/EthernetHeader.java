package io.cowherd.aoe.frame;

import java.util.Objects;

/**
 * The Ethernet header of an AoE frame: destination and source address; the type is always
 * {@link AoeConstants#ETHERTYPE_AOE}. AoEr11 §2.1 (Ethernet Source, Destination Addresses &amp;
 * Ethernet Type).
 *
 * @param destination where the frame goes ({@link MacAddress#BROADCAST} for discovery)
 * @param source the sender's interface address
 */
public record EthernetHeader(MacAddress destination, MacAddress source) {

    public EthernetHeader {
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(source, "source");
    }

    /** The header of a reply to a frame with this header: addresses swapped. */
    public EthernetHeader reply() {
        return new EthernetHeader(source, destination);
    }

    /** The same destination with another source. */
    public EthernetHeader withSource(MacAddress newSource) {
        return new EthernetHeader(destination, newSource);
    }

    @Override
    public String toString() {
        return source + " > " + destination;
    }
}
