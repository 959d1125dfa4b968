package io.cowherd.aoe.net;

import io.cowherd.aoe.frame.MacAddress;
import java.io.IOException;
import java.time.Duration;

/**
 * Sends and receives whole Ethernet frames of EtherType AoE on one interface.
 * {@link RawSocket} is the real one; tests use in-memory fakes.
 *
 * <p>One thread may send while another receives; neither method may be called by two threads at
 * once.
 */
public interface FrameChannel extends AutoCloseable {

    /** What {@link #receive} returns when no frame arrived in time. */
    int TIMED_OUT = -1;

    /** The interface's own MAC address (the source of frames sent). */
    MacAddress localAddress();

    /**
     * The interface MTU in bytes now (payload after the 14-byte Ethernet header); AoE fits
     * {@code (MTU − 36) / 512} sectors into one ATA frame.
     *
     * @throws IOException if the interface cannot be queried
     */
    int mtuBytes() throws IOException;

    /**
     * Sends one frame starting with its Ethernet header (no FCS).
     *
     * @param lengthBytes frame length, at most MTU + 14
     * @throws IOException if the frame cannot be sent
     */
    void send(byte[] frame, int offset, int lengthBytes) throws IOException;

    /**
     * Waits up to {@code timeout} for one frame and copies it (from its Ethernet header on) into
     * {@code buffer} at {@code offset}; a frame longer than the space left is truncated.
     *
     * @return the number of bytes copied, or {@link #TIMED_OUT}
     * @throws IOException if receiving fails
     */
    int receive(byte[] buffer, int offset, Duration timeout) throws IOException;

    /** Releases the channel; later calls fail. Never throws. */
    @Override
    void close();
}
