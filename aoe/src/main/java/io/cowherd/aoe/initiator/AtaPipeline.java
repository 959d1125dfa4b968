package io.cowherd.aoe.initiator;

import io.cowherd.aoe.frame.AoeConstants;
import io.cowherd.aoe.frame.AoeMessage;
import io.cowherd.aoe.frame.AtaMessage;
import io.cowherd.aoe.frame.EthernetHeader;
import io.cowherd.aoe.frame.FrameDecoder;
import io.cowherd.aoe.frame.FrameEncoder;
import io.cowherd.aoe.frame.MalformedFrameException;
import io.cowherd.aoe.net.FrameChannel;
import java.io.IOException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the frames of a {@link FramePlan} against one exporter with a window of outstanding tags,
 * a timeout per frame and a bounded number of retransmissions.
 *
 * <p>Tags are {@code (sequence << 8) | slot}: the low byte picks the window slot, the sequence
 * (starting at a random value per initiator) makes every frame's tag unique, so late replies to
 * finished frames or earlier operations are recognised and dropped. A retransmission reuses its
 * frame's tag: an answer to any copy completes the frame. Not thread-safe.
 */
final class AtaPipeline {

    private static final Logger LOG = LoggerFactory.getLogger(AtaPipeline.class);

    private final FrameChannel channel;
    private final InitiatorOptions options;
    private final Ticker ticker;
    private final TagSequence tags;
    private final byte[] receiveBuffer = new byte[65536];
    private final Slot[] slots;
    private long retransmissions;

    AtaPipeline(FrameChannel channel, InitiatorOptions options, Ticker ticker, TagSequence tags) {
        this.channel = channel;
        this.options = options;
        this.ticker = ticker;
        this.tags = tags;
        this.slots = new Slot[options.maxFramesInFlight()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot();
        }
    }

    /**
     * Runs every frame of {@code plan}, at most {@code window} at a time.
     *
     * @throws AoeTimeoutException if a frame stays unanswered after all retransmissions
     * @throws AoeErrorException on the first reply with the AoE error flag or ATA ERR/DF
     * @throws AoeProtocolException if the plan rejects a reply
     * @throws IOException if the channel fails
     */
    void run(DiscoveredTarget path, int window, FramePlan plan) throws IOException {
        int slotCount = Math.max(1, Math.min(window, slots.length));
        EthernetHeader ethernet = new EthernetHeader(path.mac(), channel.localAddress());
        long timeoutNanos = options.frameTimeout().toNanos();
        int total = plan.frameCount();
        int next = 0;
        int done = 0;
        try {
            while (done < total) {
                for (int s = 0; s < slotCount && next < total; s++) {
                    Slot slot = slots[s];
                    if (slot.frame < 0) {
                        int index = next++;
                        slot.start(index, plan.request(index, ethernet, path, tags.next(s)));
                        send(slot, timeoutNanos);
                    }
                }
                long now = ticker.nanos();
                long earliest = Long.MAX_VALUE;
                for (int s = 0; s < slotCount; s++) {
                    if (slots[s].frame >= 0) {
                        earliest = Math.min(earliest, slots[s].deadline);
                    }
                }
                int n = channel.receive(receiveBuffer, 0, Duration.ofNanos(Math.max(0, earliest - now)));
                if (n != FrameChannel.TIMED_OUT) {
                    Slot answered = match(path, n, slotCount);
                    if (answered != null) {
                        check(path, plan, answered.frame, answered.reply);
                        plan.accept(answered.frame, answered.reply);
                        answered.finish();
                        done++;
                    }
                }
                retransmitExpired(path, plan, slotCount, timeoutNanos);
            }
        } finally {
            for (Slot slot : slots) {
                slot.finish();
            }
        }
    }

    /** Frames sent again after a timeout, since creation. */
    long retransmissions() {
        return retransmissions;
    }

    private void send(Slot slot, long timeoutNanos) throws IOException {
        slot.attempts++;
        channel.send(slot.encoded, 0, slot.encodedLength);
        slot.deadline = ticker.nanos() + timeoutNanos;
    }

    private void retransmitExpired(DiscoveredTarget path, FramePlan plan, int slotCount, long timeoutNanos)
            throws IOException {
        long now = ticker.nanos();
        for (int s = 0; s < slotCount; s++) {
            Slot slot = slots[s];
            if (slot.frame >= 0 && slot.deadline - now <= 0) {
                if (slot.attempts > options.maxRetries()) {
                    throw new AoeTimeoutException(path.target(), plan.describe(slot.frame) + " (tag 0x%08x)"
                            .formatted(slot.tag), slot.attempts, options.frameTimeout());
                }
                retransmissions++;
                LOG.debug("retransmitting {} to {} at {} (tag 0x{}, attempt {})", plan.describe(slot.frame),
                        path.target(), path.mac(), Integer.toHexString(slot.tag), slot.attempts + 1);
                send(slot, timeoutNanos);
            }
        }
    }

    /** The busy slot a received frame answers, with the decoded reply stored in it, or null. */
    private Slot match(DiscoveredTarget path, int lengthBytes, int slotCount) {
        AoeMessage message;
        try {
            message = FrameDecoder.INSTANCE.decode(receiveBuffer, 0, lengthBytes);
        } catch (MalformedFrameException e) {
            LOG.debug("dropping a malformed frame: {}", e.getMessage());
            return null;
        }
        if (!(message instanceof AtaMessage reply) || !reply.isResponse()) {
            return null;
        }
        int s = reply.tag() & 0xFF;
        if (s >= slotCount || slots[s].frame < 0 || slots[s].tag != reply.tag()) {
            LOG.trace("dropping a reply to no outstanding frame: {}", reply);
            return null;
        }
        if (!reply.ethernet().source().equals(path.mac()) || !reply.target().equals(path.target())) {
            LOG.debug("dropping a reply from {} {} to a frame sent to {} {}", reply.ethernet().source(),
                    reply.target(), path.mac(), path.target());
            return null;
        }
        slots[s].reply = reply;
        return slots[s];
    }

    private static void check(DiscoveredTarget path, FramePlan plan, int frame, AtaMessage reply)
            throws AoeErrorException {
        if (reply.header().errorFlag()) {
            throw AoeErrorException.aoe(path.target(), plan.describe(frame), reply.header().error());
        }
        if (reply.hasAtaError()) {
            throw AoeErrorException.ata(path.target(), plan.describe(frame), reply.cmdStatus(), reply.errFeature());
        }
    }

    /** One window position: the frame it carries, its encoded bytes and its retransmission state. */
    private static final class Slot {
        int frame = -1;
        int tag;
        int attempts;
        long deadline;
        byte[] encoded = new byte[AoeConstants.ATA_HEADER_BYTES];
        int encodedLength;
        AtaMessage reply;

        void start(int frameIndex, AtaMessage request) {
            frame = frameIndex;
            tag = request.tag();
            attempts = 0;
            int length = FrameEncoder.INSTANCE.lengthBytes(request);
            if (encoded.length < length) {
                encoded = new byte[length];
            }
            encodedLength = FrameEncoder.INSTANCE.encode(request, encoded, 0);
        }

        void finish() {
            frame = -1;
            reply = null;
        }
    }
}
