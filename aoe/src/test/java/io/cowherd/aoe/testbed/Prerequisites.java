package io.cowherd.aoe.testbed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What host tests need; a missing piece fails the test with a message naming it (no skipping). */
final class Prerequisites {

    private static final List<Path> IP_CANDIDATES =
            List.of(Path.of("/usr/sbin/ip"), Path.of("/sbin/ip"), Path.of("/usr/bin/ip"), Path.of("/bin/ip"));

    private Prerequisites() {}

    /**
     * @return the path of {@code ip}
     * @throws AssertionError listing everything missing
     */
    static String require() throws IOException {
        List<String> missing = new ArrayList<>();
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (uid != 0) {
            missing.add("root (running as uid " + uid + "; raw sockets, setns and ip netns need it)");
        }
        Path ip = IP_CANDIDATES.stream().filter(Files::isExecutable).findFirst().orElse(null);
        if (ip == null) {
            missing.add("the ip command (Debian package iproute2) at one of " + IP_CANDIDATES);
        }
        if (!Files.isExecutable(AoeTestBed.VBLADE)) {
            missing.add(AoeTestBed.VBLADE + " (Debian package vblade)");
        }
        if (!missing.isEmpty()) {
            throw new AssertionError("host test cannot run, missing: " + String.join("; ", missing));
        }
        return ip.toString();
    }
}
