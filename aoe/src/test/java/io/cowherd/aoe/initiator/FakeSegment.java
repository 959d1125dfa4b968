package io.cowherd.aoe.initiator;

import io.cowherd.aoe.frame.AoeMessage;
import io.cowherd.aoe.frame.AtaMessage;
import io.cowherd.aoe.frame.FrameDecoder;
import io.cowherd.aoe.frame.FrameEncoder;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.aoe.frame.MalformedFrameException;
import io.cowherd.aoe.net.FrameChannel;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/**
 * An Ethernet segment in memory: the initiator's {@link FrameChannel} plus any number of
 * {@link FakeExporter}s that answer synchronously. Time is virtual: a {@link #receive} that finds
 * nothing advances {@link #ticker()} by its timeout instead of waiting.
 */
final class FakeSegment implements FrameChannel {

    final MacAddress initiatorMac = MacAddress.parse("02:00:00:00:00:01");
    final List<FakeExporter> exporters = new ArrayList<>();
    /** Every frame the initiator sent, decoded, in order. */
    final List<AoeMessage> sent = new ArrayList<>();
    /** Requests for which this returns true are lost on the way to the exporters. */
    Predicate<AoeMessage> lose = m -> false;
    /** Every reply is delivered twice. */
    boolean duplicateReplies;
    int mtuBytes = 1500;
    int mostRepliesQueued;
    private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
    private long nowNanos;
    private boolean closed;

    FakeExporter addExporter(FakeExporter exporter) {
        exporters.add(exporter);
        return exporter;
    }

    Ticker ticker() {
        return () -> nowNanos;
    }

    long elapsedNanos() {
        return nowNanos;
    }

    boolean isClosed() {
        return closed;
    }

    List<AtaMessage> ataRequests() {
        return sent.stream().filter(AtaMessage.class::isInstance).map(AtaMessage.class::cast).toList();
    }

    /** Puts a frame on the wire towards the initiator, as an unsolicited sender would. */
    void inject(AoeMessage message) {
        queue.add(FrameEncoder.INSTANCE.encode(message));
    }

    @Override
    public MacAddress localAddress() {
        return initiatorMac;
    }

    @Override
    public int mtuBytes() {
        return mtuBytes;
    }

    @Override
    public void send(byte[] frame, int offset, int lengthBytes) {
        AoeMessage request;
        try {
            request = FrameDecoder.INSTANCE.decode(frame, offset, lengthBytes);
        } catch (MalformedFrameException e) {
            throw new AssertionError("initiator sent a malformed frame", e);
        }
        sent.add(request);
        if (lose.test(request)) {
            return;
        }
        for (FakeExporter exporter : exporters) {
            exporter.answer(request).ifPresent(reply -> {
                byte[] encoded = FrameEncoder.INSTANCE.encode(reply);
                queue.add(encoded);
                if (duplicateReplies) {
                    queue.add(encoded.clone());
                }
            });
        }
        mostRepliesQueued = Math.max(mostRepliesQueued, queue.size());
    }

    @Override
    public int receive(byte[] buffer, int offset, Duration timeout) {
        byte[] frame = queue.poll();
        if (frame == null) {
            nowNanos += Math.max(1, timeout.toNanos());
            return TIMED_OUT;
        }
        int copied = Math.min(frame.length, buffer.length - offset);
        System.arraycopy(frame, 0, buffer, offset, copied);
        return copied;
    }

    @Override
    public void close() {
        closed = true;
    }

    static byte[] pattern(int sizeBytes) {
        byte[] bytes = new byte[sizeBytes];
        for (int i = 0; i < sizeBytes; i++) {
            bytes[i] = (byte) (i * 31 + (i >>> 9));
        }
        return Arrays.copyOf(bytes, sizeBytes);
    }
}
