package io.cowherd.agent.host;

/**
 * One process instance: its pid and its start time, so a pid the kernel hands to a new process
 * after this one ended is never taken for it.
 *
 * @param pid process id (in the agent's PID namespace: the host's when the agent runs with hostPID)
 * @param startTicks field 22 of {@code /proc/<pid>/stat}, {@code starttime}: clock ticks after boot
 *     (proc(5))
 */
public record LivePid(long pid, long startTicks) {}
