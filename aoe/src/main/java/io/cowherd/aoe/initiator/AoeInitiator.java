package io.cowherd.aoe.initiator;

import static io.cowherd.aoe.frame.AoeConstants.ATA_HEADER_BYTES;
import static io.cowherd.aoe.frame.AoeConstants.MAX_ATA_SECTOR_COUNT;
import static io.cowherd.aoe.frame.AoeConstants.MAX_LBA48;
import static io.cowherd.aoe.frame.AoeConstants.SECTOR_BYTES;

import io.cowherd.aoe.frame.AoeMessage;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.AtaCommand;
import io.cowherd.aoe.frame.AtaIdentity;
import io.cowherd.aoe.frame.EthernetHeader;
import io.cowherd.aoe.frame.FrameDecoder;
import io.cowherd.aoe.frame.FrameEncoder;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.aoe.frame.MalformedFrameException;
import io.cowherd.aoe.frame.QueryConfigMessage;
import io.cowherd.aoe.net.FrameChannel;
import io.cowherd.aoe.net.NetNs;
import io.cowherd.aoe.net.RawSocket;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An AoE initiator on one interface: discovery (Query Config, AoEr11 §4), ATA IDENTIFY DEVICE,
 * READ SECTORS EXT / WRITE SECTORS EXT (LBA48, AoEr11 §3) and FLUSH CACHE, all addressed to
 * shelf/slot targets in 512-byte sectors.
 *
 * <p>I/O goes unicast to the MAC address learnt by discovery; a target not yet discovered is
 * looked up first with a Query Config sent to its address. If several MACs answered for one
 * target (two exporters: a misconfiguration that corrupts data), the first is used and a warning
 * is logged; {@link #paths(AoeTarget)} lists them all.
 *
 * <p>Reads and writes are split into frames of at most
 * {@code min(target's max sectors, (MTU − 36) / 512, 255)} sectors (2 at MTU 1500 with vblade) and
 * run with up to {@code min(target's buffer count, maxFramesInFlight)} tags in flight, each frame
 * retransmitted after {@link InitiatorOptions#frameTimeout()} at most
 * {@link InitiatorOptions#maxRetries()} times.
 *
 * <p>Not thread-safe: use one initiator per thread. Closing it closes its channel.
 *
 * <p>To run it in a client network namespace, open the socket there:
 * {@code new AoeInitiator(NetNs.openRawSocket(ns, iface), options)} or
 * {@link #openInNamespace(String, String, InitiatorOptions)}.
 */
public final class AoeInitiator implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AoeInitiator.class);

    private final FrameChannel channel;
    private final InitiatorOptions options;
    private final Ticker ticker;
    private final TagSequence tags = new TagSequence();
    private final AtaPipeline pipeline;
    private final Map<AoeTarget, List<DiscoveredTarget>> paths = new LinkedHashMap<>();
    private final byte[] receiveBuffer = new byte[65536];

    /** An initiator on {@code channel} (which it now owns). */
    public AoeInitiator(FrameChannel channel, InitiatorOptions options) {
        this(channel, options, Ticker.SYSTEM);
    }

    /** An initiator with an injected clock, for tests with fake channels. */
    public AoeInitiator(FrameChannel channel, InitiatorOptions options, Ticker ticker) {
        this.channel = Objects.requireNonNull(channel, "channel");
        this.options = Objects.requireNonNull(options, "options");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.pipeline = new AtaPipeline(channel, options, ticker, tags);
    }

    /**
     * Opens a {@link RawSocket} on {@code interfaceName} in the calling thread's network namespace.
     *
     * @throws IOException see {@link RawSocket#open}
     */
    public static AoeInitiator open(String interfaceName, InitiatorOptions options) throws IOException {
        return new AoeInitiator(RawSocket.open(interfaceName), options);
    }

    /**
     * Opens a {@link RawSocket} on {@code interfaceName} inside network namespace {@code namespace}
     * (see {@link NetNs}); the initiator may then be used from the calling thread.
     *
     * @throws IOException see {@link NetNs#openRawSocket}
     */
    public static AoeInitiator openInNamespace(String namespace, String interfaceName, InitiatorOptions options)
            throws IOException {
        return new AoeInitiator(NetNs.openRawSocket(namespace, interfaceName), options);
    }

    /** The channel's MAC address, the source of every frame sent. */
    public MacAddress localAddress() {
        return channel.localAddress();
    }

    /**
     * Broadcasts a Query Config (read) to every shelf and slot ({@code e65535.255}) and collects
     * the replies for {@code wait}. Unsolicited announcements (another tag) are not counted.
     *
     * @return every distinct (target, MAC) pair that answered, in arrival order; a target listed
     *     twice has two exporters
     * @throws IOException if the channel fails
     */
    public List<DiscoveredTarget> discover(Duration wait) throws IOException {
        return query(AoeTarget.BROADCAST, wait, false);
    }

    /**
     * Asks one target for its configuration, retransmitting as for I/O.
     *
     * @return the first exporter that answered
     * @throws AoeTimeoutException if nothing answered after every retransmission
     */
    public DiscoveredTarget discover(AoeTarget target) throws IOException {
        requireUnicast(target);
        for (int attempt = 1; attempt <= options.maxRetries() + 1; attempt++) {
            List<DiscoveredTarget> found = query(target, options.frameTimeout(), true);
            if (!found.isEmpty()) {
                return found.getFirst();
            }
        }
        throw new AoeTimeoutException(target, "QUERY_CONFIG", options.maxRetries() + 1, options.frameTimeout());
    }

    /** Every exporter seen answering for {@code target} so far, first one used for I/O. */
    public List<DiscoveredTarget> paths(AoeTarget target) {
        return List.copyOf(paths.getOrDefault(target, List.of()));
    }

    /**
     * ATA IDENTIFY DEVICE (0xEC, one 512-byte block).
     *
     * @return capacity in 512-byte sectors, model, serial number and firmware revision
     * @throws AoeTimeoutException if the target does not answer after every retransmission
     * @throws AoeErrorException if the target refuses the command
     * @throws AoeProtocolException if the reply carries no 512-byte block
     */
    public AtaIdentity identify(AoeTarget target) throws IOException {
        IdentifyPlan plan = new IdentifyPlan();
        pipeline.run(pathTo(target), 1, plan);
        return plan.identity;
    }

    /**
     * Reads {@code sectorCount} sectors starting at {@code lba} (READ SECTORS EXT, AFlags E).
     *
     * @return {@code sectorCount × 512} bytes
     * @throws AoeTimeoutException if a frame is not answered after every retransmission
     * @throws AoeErrorException if the target refuses (e.g. ATA IDNF past the end of the device)
     * @throws IllegalArgumentException if {@code lba}/{@code sectorCount} are negative or pass 2<sup>48</sup>
     */
    public byte[] read(AoeTarget target, long lba, int sectorCount) throws IOException {
        checkRange(lba, sectorCount);
        byte[] destination = new byte[Math.multiplyExact(sectorCount, SECTOR_BYTES)];
        read(target, lba, sectorCount, destination, 0);
        return destination;
    }

    /**
     * Reads {@code sectorCount} sectors starting at {@code lba} into {@code destination} at
     * {@code offset} (bytes), so a caller can reuse one buffer.
     *
     * @throws IndexOutOfBoundsException if {@code sectorCount × 512} bytes do not fit
     * @see #read(AoeTarget, long, int)
     */
    public void read(AoeTarget target, long lba, int sectorCount, byte[] destination, int offset) throws IOException {
        checkRange(lba, sectorCount);
        Objects.checkFromIndexSize(offset, Math.multiplyExact(sectorCount, SECTOR_BYTES), destination.length);
        if (sectorCount == 0) {
            return;
        }
        DiscoveredTarget path = pathTo(target);
        SectorPlan plan = SectorPlan.read(lba, sectorCount, sectorsPerFrame(path), destination, offset);
        pipeline.run(path, window(path), plan);
    }

    /**
     * Writes {@code data} (whole 512-byte sectors) starting at sector {@code lba} (WRITE SECTORS EXT,
     * AFlags E and W). Data may sit in the target's cache until {@link #flushCache}.
     *
     * @throws IllegalArgumentException if {@code data} is not a multiple of 512 bytes
     * @see #read(AoeTarget, long, int) for the exceptions
     */
    public void write(AoeTarget target, long lba, byte[] data) throws IOException {
        if (data.length % SECTOR_BYTES != 0) {
            throw new IllegalArgumentException("write data must be whole 512-byte sectors, got " + data.length + " bytes");
        }
        write(target, lba, data, 0, data.length / SECTOR_BYTES);
    }

    /** Writes {@code sectorCount} sectors from {@code data} at {@code offset} (bytes); see {@link #write(AoeTarget, long, byte[])}. */
    public void write(AoeTarget target, long lba, byte[] data, int offset, int sectorCount) throws IOException {
        checkRange(lba, sectorCount);
        Objects.checkFromIndexSize(offset, Math.multiplyExact(sectorCount, SECTOR_BYTES), data.length);
        if (sectorCount == 0) {
            return;
        }
        DiscoveredTarget path = pathTo(target);
        SectorPlan plan = SectorPlan.write(lba, sectorCount, sectorsPerFrame(path), data, offset);
        pipeline.run(path, window(path), plan);
    }

    /**
     * ATA FLUSH CACHE (0xE7): the target writes its cache to stable storage. (FLUSH CACHE EXT 0xEA
     * is not used: vblade aborts it.)
     *
     * @throws AoeTimeoutException if the target does not answer after every retransmission
     * @throws AoeErrorException if the target refuses the command
     */
    public void flushCache(AoeTarget target) throws IOException {
        pipeline.run(pathTo(target), 1, new CommandPlan(AtaCommand.FLUSH_CACHE));
    }

    /** ATA frames sent again because their reply did not come in time, since this initiator was made. */
    public long retransmissionCount() {
        return pipeline.retransmissions();
    }

    /** Runs one ATA command without data (tests probe exporters with it, e.g. FLUSH CACHE EXT). */
    void command(AoeTarget target, AtaCommand command) throws IOException {
        pipeline.run(pathTo(target), 1, new CommandPlan(command));
    }

    /** Closes the channel. */
    @Override
    public void close() {
        channel.close();
    }

    private List<DiscoveredTarget> query(AoeTarget address, Duration wait, boolean stopAtFirst) throws IOException {
        int tag = tags.next(0xFF);
        QueryConfigMessage request = QueryConfigMessage.readRequest(
                new EthernetHeader(MacAddress.BROADCAST, channel.localAddress()), address, tag);
        byte[] frame = FrameEncoder.INSTANCE.encode(request);
        channel.send(frame, 0, frame.length);
        List<DiscoveredTarget> found = new ArrayList<>();
        long deadline = ticker.nanos() + wait.toNanos();
        while (true) {
            long remaining = deadline - ticker.nanos();
            if (remaining <= 0) {
                return List.copyOf(found);
            }
            int n = channel.receive(receiveBuffer, 0, Duration.ofNanos(remaining));
            if (n == FrameChannel.TIMED_OUT) {
                continue;
            }
            AoeMessage message;
            try {
                message = FrameDecoder.INSTANCE.decode(receiveBuffer, 0, n);
            } catch (MalformedFrameException e) {
                LOG.debug("dropping a malformed frame: {}", e.getMessage());
                continue;
            }
            if (message instanceof QueryConfigMessage reply && reply.isResponse() && reply.tag() == tag
                    && reply.target().isAddressedBy(address) && !reply.target().isBroadcast()) {
                if (reply.header().errorFlag()) {
                    LOG.debug("{} answered Query Config with error {}", reply.target(), reply.header().error());
                    continue;
                }
                DiscoveredTarget path = DiscoveredTarget.of(reply);
                if (found.stream().noneMatch(d -> d.target().equals(path.target()) && d.mac().equals(path.mac()))) {
                    found.add(path);
                    remember(path);
                }
                if (stopAtFirst) {
                    return List.copyOf(found);
                }
            }
        }
    }

    private void remember(DiscoveredTarget path) {
        List<DiscoveredTarget> known = paths.computeIfAbsent(path.target(), t -> new ArrayList<>());
        for (int i = 0; i < known.size(); i++) {
            if (known.get(i).mac().equals(path.mac())) {
                known.set(i, path);
                return;
            }
        }
        known.add(path);
        if (known.size() > 1) {
            LOG.warn("{} is exported from {} MAC addresses: {}; I/O uses {}", path.target(), known.size(),
                    known.stream().map(d -> d.mac().toString()).toList(), known.getFirst().mac());
        }
    }

    private DiscoveredTarget pathTo(AoeTarget target) throws IOException {
        requireUnicast(target);
        List<DiscoveredTarget> known = paths.get(target);
        return known != null && !known.isEmpty() ? known.getFirst() : discover(target);
    }

    private int sectorsPerFrame(DiscoveredTarget path) throws IOException {
        int mtuBytes = channel.mtuBytes();
        // As vblade computes it (it counts the Ethernet header too): 2 sectors at MTU 1500, 17 at 9000.
        int byMtu = (mtuBytes - ATA_HEADER_BYTES) / SECTOR_BYTES;
        int sectors = Math.min(byMtu, MAX_ATA_SECTOR_COUNT);
        if (path.maxSectorsPerFrame() > 0) {
            sectors = Math.min(sectors, path.maxSectorsPerFrame());
        }
        if (sectors < 1) {
            throw new AoeProtocolException(path.target(), "no whole 512-byte sector fits a frame: MTU " + mtuBytes
                    + " bytes, target maximum " + path.maxSectorsPerFrame() + " sectors");
        }
        return sectors;
    }

    private int window(DiscoveredTarget path) {
        return Math.max(1, Math.min(path.bufferCount(), options.maxFramesInFlight()));
    }

    private static void requireUnicast(AoeTarget target) {
        if (target.isBroadcast()) {
            throw new IllegalArgumentException("I/O needs one target, not the broadcast address " + target);
        }
    }

    private static void checkRange(long lba, int sectorCount) {
        if (lba < 0 || sectorCount < 0 || lba + sectorCount > MAX_LBA48 + 1) {
            throw new IllegalArgumentException("sectors " + lba + "+" + sectorCount + " are outside 0..2^48");
        }
    }
}
