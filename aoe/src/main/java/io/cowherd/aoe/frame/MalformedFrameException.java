package io.cowherd.aoe.frame;

/**
 * A frame that is not a well-formed AoE v1 message. Thrown by {@link FrameDecoder}; callers reading
 * from a network usually log and drop the frame.
 */
public final class MalformedFrameException extends Exception {

    private static final long serialVersionUID = 1L;

    private final int offset;
    private final String reason;

    /**
     * @param offset byte offset in the frame (from the first byte of the Ethernet header) of the
     *     field that is wrong, or the frame length when the frame ends too early
     * @param reason what is wrong, naming the field and spec section
     */
    public MalformedFrameException(int offset, String reason) {
        super("malformed AoE frame at byte " + offset + ": " + reason);
        this.offset = offset;
        this.reason = reason;
    }

    /** Byte offset of the offending field, or the frame length for a frame that ends too early. */
    public int offset() {
        return offset;
    }

    /** What is wrong, without the offset. */
    public String reason() {
        return reason;
    }
}
