package io.cowherd.aoe.testbed;

import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.InitiatorOptions;
import io.cowherd.aoe.net.NetNs;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An isolated Ethernet segment for host tests: a "segment" network namespace holding a bridge,
 * and one namespace per host, each joined to the bridge by a veth pair. Everything it makes is
 * named {@code cwt-<random>-…}; it never touches an existing interface, address or namespace.
 * Needs root, {@code ip} and (for exporters) {@code /usr/sbin/vblade}: {@link #create} fails,
 * naming what is missing.
 */
public final class AoeTestBed implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AoeTestBed.class);
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(20);
    public static final Path VBLADE = Path.of("/usr/sbin/vblade");

    /** A host on the segment: its namespace, its interface there and that interface's MAC. */
    public record Host(String namespace, String interfaceName, MacAddress mac) {}

    private final String id;
    private final String ip;
    private final int mtuBytes;
    private final String segmentNamespace;
    private final Path directory;
    private final List<Host> hosts = new ArrayList<>();
    private final List<Exporter> exporters = new ArrayList<>();

    private AoeTestBed(String id, String ip, int mtuBytes, Path directory) {
        this.id = id;
        this.ip = ip;
        this.mtuBytes = mtuBytes;
        this.segmentNamespace = "cwt-" + id + "-seg";
        this.directory = directory;
    }

    /**
     * Makes the segment namespace and its bridge.
     *
     * @param mtuBytes MTU of every veth (1500, or 9000 for jumbo frames)
     * @throws AssertionError naming what is missing (root, ip, vblade)
     */
    public static AoeTestBed create(int mtuBytes) throws IOException {
        String ip = Prerequisites.require();
        String id = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt(1 << 24)).substring(2);
        AoeTestBed bed = new AoeTestBed(id, ip, mtuBytes, Files.createTempDirectory("cwt-" + id + "-"));
        try {
            bed.ip("netns", "add", bed.segmentNamespace);
            bed.ip("-n", bed.segmentNamespace, "link", "add", "br0", "mtu", Integer.toString(mtuBytes), "type", "bridge");
            bed.ip("-n", bed.segmentNamespace, "link", "set", "br0", "up");
            return bed;
        } catch (IOException | RuntimeException e) {
            bed.close();
            throw e;
        }
    }

    /** The random id in every name this bed makes. */
    public String id() {
        return id;
    }

    /** A temporary directory removed by {@link #close()}. */
    public Path directory() {
        return directory;
    }

    /**
     * Adds a host namespace {@code cwt-<id>-<role>} with interface {@code aoe0} on the bridge.
     *
     * @param role a short word, e.g. {@code srv} or {@code cli}
     */
    public Host addHost(String role) throws IOException {
        int index = hosts.size();
        String namespace = "cwt-" + id + "-" + role;
        String port = "port" + index;
        MacAddress mac = new MacAddress((0x02L << 40) | (Long.parseLong(id, 16) << 8) | index);
        ip("netns", "add", namespace);
        Host host = new Host(namespace, "aoe0", mac);
        hosts.add(host);
        ip("-n", segmentNamespace, "link", "add", port, "mtu", Integer.toString(mtuBytes), "type", "veth",
                "peer", "name", host.interfaceName(), "address", mac.toString(), "mtu", Integer.toString(mtuBytes),
                "netns", namespace);
        ip("-n", segmentNamespace, "link", "set", port, "master", "br0", "up");
        ip("-n", namespace, "link", "set", host.interfaceName(), "up");
        return host;
    }

    /** A file of {@code sizeBytes} pseudo-random bytes from {@code seed}, in {@link #directory()}. */
    public Path createImage(String name, long sizeBytes, long seed) throws IOException {
        Path file = directory.resolve(name);
        SplittableRandom random = new SplittableRandom(seed);
        byte[] chunk = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long written = 0; written < sizeBytes; written += chunk.length) {
                random.nextBytes(chunk);
                out.write(chunk, 0, (int) Math.min(chunk.length, sizeBytes - written));
            }
        }
        return file;
    }

    /** Starts {@code vblade [options] shelf slot aoe0 file} inside {@code host}'s namespace. */
    public Exporter startVblade(Host host, AoeTarget target, Path file, String... vbladeOptions) throws IOException {
        List<String> argv = new ArrayList<>(List.of(ip, "netns", "exec", host.namespace(), VBLADE.toString()));
        argv.addAll(List.of(vbladeOptions));
        argv.addAll(List.of(Integer.toString(target.shelf()), Integer.toString(target.slot()), host.interfaceName(),
                file.toString()));
        Path log = directory.resolve("vblade-" + target + "-" + host.namespace() + ".log");
        Process process = new ProcessBuilder(argv)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        Exporter exporter = new Exporter(target, host, process, log);
        exporters.add(exporter);
        LOG.info("started vblade {} in {} (pid {})", target, host.namespace(), process.pid());
        return exporter;
    }

    /** An initiator whose raw socket lives in {@code host}'s namespace. */
    public AoeInitiator initiator(Host host, InitiatorOptions options) throws IOException {
        return new AoeInitiator(NetNs.openRawSocket(host.namespace(), host.interfaceName()), options);
    }

    /** Stops every exporter, deletes every namespace this bed made (and so its veths) and the directory. */
    @Override
    public void close() {
        for (Exporter exporter : exporters) {
            exporter.close();
        }
        for (Host host : hosts) {
            deleteNamespace(host.namespace());
        }
        deleteNamespace(segmentNamespace);
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            LOG.warn("could not remove {}: {}", directory, e.toString());
        }
    }

    private void deleteNamespace(String namespace) {
        try {
            Commands.runAllowingFailure(COMMAND_TIMEOUT, ip, "netns", "del", namespace);
        } catch (IOException e) {
            LOG.warn("could not delete network namespace {}: {}", namespace, e.toString());
        }
    }

    /** Runs {@code ip ARGS} (to change what this bed made, e.g. {@code -n NS link set aoe0 mtu 1400}). */
    public void ip(String... args) throws IOException {
        String[] argv = new String[args.length + 1];
        argv[0] = ip;
        System.arraycopy(args, 0, argv, 1, args.length);
        Commands.run(COMMAND_TIMEOUT, argv);
    }

    /** A vblade process; {@link #close()} stops it. */
    public static final class Exporter implements AutoCloseable {
        private final AoeTarget target;
        private final Host host;
        private final Process process;
        private final Path log;

        Exporter(AoeTarget target, Host host, Process process, Path log) {
            this.target = target;
            this.host = host;
            this.process = process;
            this.log = log;
        }

        public AoeTarget target() {
            return target;
        }

        public Host host() {
            return host;
        }

        public boolean isAlive() {
            return process.isAlive();
        }

        /** What vblade printed so far. */
        public String output() throws IOException {
            return Files.readString(log);
        }

        @Override
        public void close() {
            if (!process.isAlive()) {
                return;
            }
            process.destroy();
            try {
                if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }
}
