package io.cowherd.aoe.frame;

/** Range checks shared by the code-point and message records. */
final class CodePoints {

    private CodePoints() {}

    static void checkByte(String field, int value) {
        checkRange(field, value, 0xFF);
    }

    static void checkRange(String field, long value, long max) {
        if (value < 0 || value > max) {
            throw new IllegalArgumentException(field + " must be 0-" + max + ", got " + value);
        }
    }
}
