/**
 * Raw Ethernet access for AoE: {@link io.cowherd.aoe.net.RawSocket} (an {@code AF_PACKET}
 * {@code SOCK_RAW} socket bound to one interface and to EtherType 0x88A2) and
 * {@link io.cowherd.aoe.net.NetNs} (enter a named network namespace with {@code setns(2)}).
 *
 * <p>This package is the only one in cowherd that uses {@code java.lang.foreign}; the downcalls
 * live in the package-private {@code Libc}. Callers must run the JVM with
 * {@code --enable-native-access=ALL-UNNAMED} (or the module name) and, for raw sockets and
 * {@code setns}, with CAP_NET_RAW / CAP_SYS_ADMIN (root). Failures of system calls raise
 * {@link io.cowherd.aoe.net.SyscallException}, naming the call and errno.
 */
package io.cowherd.aoe.net;
