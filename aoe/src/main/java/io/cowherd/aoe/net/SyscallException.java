package io.cowherd.aoe.net;

import java.io.IOException;

/**
 * A system call made through {@code java.lang.foreign} failed; carries the call and the
 * {@code errno} captured right after it. The message reads e.g.
 * {@code socket(AF_PACKET, SOCK_RAW, ETH_P_AOE) failed: errno 1 EPERM (Operation not permitted)}.
 */
public final class SyscallException extends IOException {

    private static final long serialVersionUID = 1L;

    private final String syscall;
    private final int errno;

    /**
     * @param syscall the call as a human reads it, e.g. {@code if_nametoindex("eth9")}
     * @param errno the captured errno value
     */
    public SyscallException(String syscall, int errno) {
        super(syscall + " failed: errno " + errno + " " + Libc.errnoName(errno) + " (" + Libc.strerror(errno) + ")");
        this.syscall = syscall;
        this.errno = errno;
    }

    /** The failed call, e.g. {@code bind(AF_PACKET, ifindex 3)}. */
    public String syscall() {
        return syscall;
    }

    /** The errno value, e.g. 19 for ENODEV. */
    public int errno() {
        return errno;
    }

    /** The symbolic errno name, e.g. {@code ENODEV}, or {@code E?} for one not listed. */
    public String errnoName() {
        return Libc.errnoName(errno);
    }
}
