package io.cowherd.aoe.initiator;

import io.cowherd.aoe.frame.AtaMessage;
import io.cowherd.aoe.frame.EthernetHeader;

/** The ATA frames of one operation, built and consumed by index; run by {@link AtaPipeline}. */
interface FramePlan {

    /** Number of frames, at least 1. */
    int frameCount();

    /** The request for frame {@code index} with the given addressing and tag. */
    AtaMessage request(int index, EthernetHeader ethernet, DiscoveredTarget path, int tag);

    /**
     * Takes the reply to frame {@code index}, already checked for AoE and ATA errors.
     *
     * @throws AoeProtocolException if the reply is unusable
     */
    void accept(int index, AtaMessage reply) throws AoeProtocolException;

    /** The request in words for messages, e.g. {@code READ_SECTORS_EXT lba=2048 sectorCount=2}. */
    String describe(int index);
}
