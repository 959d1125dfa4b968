package io.cowherd.aoe.frame;

/**
 * Classic BPF instructions in the encoding {@link RawSocket#attachFilter} takes: one {@code long}
 * per linux/filter.h {@code struct sock_filter}, {@code code << 48 | jt << 40 | jf << 32 | k}. The
 * opcodes are the sums of the linux/bpf_common.h class, size, mode and operation bits. Jump
 * offsets count instructions skipped after the jump.
 */
public final class Bpf {
    /** {@code BPF_LD | BPF_B | BPF_ABS}: A = the byte at offset k of the frame. */
    public static final int LD_ABS_BYTE = 0x30;
    /** {@code BPF_LD | BPF_H | BPF_ABS}: A = the big-endian 16-bit value at offset k of the frame. */
    public static final int LD_ABS_HALF = 0x28;
    /** {@code BPF_ALU | BPF_AND | BPF_K}: A = A &amp; k. */
    public static final int AND_K = 0x54;
    /** {@code BPF_JMP | BPF_JEQ | BPF_K}: skip jt instructions if A == k, else jf. */
    public static final int JEQ_K = 0x15;
    /** {@code BPF_JMP | BPF_JSET | BPF_K}: skip jt instructions if (A &amp; k) != 0, else jf. */
    public static final int JSET_K = 0x45;
    /** {@code BPF_RET | BPF_K}: accept the first k bytes of the frame (0: drop it). */
    public static final int RET_K = 0x06;

    private Bpf() {}

    /**
     * One instruction.
     *
     * @param code opcode (16 bit), e.g. {@link #JEQ_K}
     * @param jt jump offset if true (0-255)
     * @param jf jump offset if false (0-255)
     * @param k operand, taken as unsigned 32 bit
     */
    public static long insn(int code, int jt, int jf, int k) {
        return ((long) code << 48) | ((long) jt << 40) | ((long) jf << 32) | (k & 0xFFFFFFFFL);
    }
}
