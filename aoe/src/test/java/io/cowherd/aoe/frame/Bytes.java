package io.cowherd.aoe.frame;

/** Hand-built frames for tests: one field per line, each a list of byte values. */
final class Bytes {

    private Bytes() {}

    /** The given values (0–255) as bytes. */
    static byte[] of(int... values) {
        byte[] bytes = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            if (values[i] < 0 || values[i] > 0xFF) {
                throw new IllegalArgumentException("not a byte: " + values[i]);
            }
            bytes[i] = (byte) values[i];
        }
        return bytes;
    }

    /** The arrays one after another. */
    static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        byte[] all = new byte[length];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    /** {@code count} bytes counting up from {@code first} (mod 256), easy to recognise. */
    static byte[] counting(int count, int first) {
        byte[] bytes = new byte[count];
        for (int i = 0; i < count; i++) {
            bytes[i] = (byte) (first + i);
        }
        return bytes;
    }
}
