package io.cowherd.aoe.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.AtaCommand;
import io.cowherd.aoe.frame.AtaFlags;
import io.cowherd.aoe.frame.AtaMessage;
import io.cowherd.aoe.frame.AtaRequests;
import io.cowherd.aoe.frame.EthernetHeader;
import io.cowherd.aoe.frame.FrameEncoder;
import io.cowherd.aoe.testbed.AoeTestBed;
import io.cowherd.aoe.testbed.AoeTestBed.Host;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A {@code TPACKET_V3} ring with the ATA request filter, in a namespace of a test segment: every
 * read and write request sent from the other host arrives, snapped to {@link
 * AtaRequests#SNAP_BYTES} bytes and in order; responses and non-I/O commands do not; nothing is
 * dropped. Runs as root.
 */
@Tag("host")
class PacketRingHostTest {

    @Test
    void everyRequestArrivesSnappedAndNothingElse() throws Exception {
        try (AoeTestBed bed = AoeTestBed.create(9000)) {
            Host watcher = bed.addHost("w");
            Host client = bed.addHost("c");
            int requests = 5000;
            try (PacketRing ring = NetNs.callIn(watcher.namespace(), () -> PacketRing.open(watcher.interfaceName(),
                    AtaRequests.bpfFilter(), 64 << 10, 4, Duration.ofMillis(20), AtaRequests.SNAP_BYTES));
                    RawSocket sender = NetNs.openRawSocket(client.namespace(), client.interfaceName())) {
                EthernetHeader eth = new EthernetHeader(watcher.mac(), client.mac());
                AoeTarget target = new AoeTarget(12, 4);
                byte[] write = FrameEncoder.INSTANCE.encode(AtaMessage.request(eth, target, 1, AtaFlags.EXTENDED_WRITE,
                        AtaCommand.WRITE_SECTORS_EXT, 100, 16, new byte[16 * 512]));
                byte[] identify = FrameEncoder.INSTANCE.encode(AtaMessage.request(eth, target, 2, AtaFlags.NONE,
                        AtaCommand.IDENTIFY_DEVICE, 0, 1, null));
                List<Long> seen = new ArrayList<>();
                List<Integer> lengths = new ArrayList<>();
                PacketRing.FrameSink sink = (frame, length, wire) -> {
                    lengths.add(length);
                    seen.add(AtaRequests.classify(frame, length));
                };
                for (int i = 0; i < requests; i++) {
                    int sectors = 1 + i % 2;
                    byte[] read = FrameEncoder.INSTANCE.encode(AtaMessage.request(eth, target, 10 + i, AtaFlags.NONE,
                            AtaCommand.READ_SECTORS, i, sectors, null));
                    sender.send(read);
                    if (i % 100 == 0) {
                        sender.send(write);
                        sender.send(identify);
                        byte[] response = Arrays.copyOf(read, read.length);
                        response[14] |= 0x08;
                        sender.send(response);
                    }
                    if (i % 1000 == 999) {
                        ring.receive(sink, Duration.ZERO); // drain as the watch does, between bursts
                    }
                }
                int expected = requests + requests / 100;
                await().atMost(Duration.ofSeconds(5)).until(() -> {
                    ring.receive(sink, Duration.ofMillis(50));
                    return seen.size() >= expected;
                });
                assertThat(seen).hasSize(expected).allSatisfy(c -> assertThat(c).isNotNegative());
                assertThat(seen.stream().filter(AtaRequests::isWrite).count()).isEqualTo(requests / 100);
                assertThat(seen.stream().filter(c -> !AtaRequests.isWrite(c)).mapToLong(AtaRequests::bytes).sum())
                        .as("bytes the reads asked for").isEqualTo((requests / 2) * 512L + (requests / 2) * 1024L);
                assertThat(seen).allSatisfy(c -> {
                    assertThat(AtaRequests.shelf(c)).isEqualTo(12);
                    assertThat(AtaRequests.slot(c)).isEqualTo(4);
                });
                assertThat(lengths).as("reads are 36 bytes on veth, writes snapped to the headers")
                        .containsOnly(36, AtaRequests.SNAP_BYTES);
                assertThat(ring.takeStatistics().drops()).isZero();
            }
        }
    }

    /**
     * An interface going down leaves ENETDOWN pending on the socket (af_packet's netdev notifier),
     * which makes every poll(2) return at once, even once the interface is up again: the ring
     * reports it as an error instead of returning "no frames" at once forever (a reader looping on
     * receive would spin a core), and once reported the ring waits and receives again.
     */
    @Test
    void interfaceDownAndUpIsReportedOnceNotSpunOn() throws Exception {
        try (AoeTestBed bed = AoeTestBed.create(1500)) {
            Host watcher = bed.addHost("w");
            Host client = bed.addHost("c");
            try (PacketRing ring = NetNs.callIn(watcher.namespace(), () -> PacketRing.open(watcher.interfaceName(),
                    AtaRequests.bpfFilter(), 64 << 10, 4, Duration.ofMillis(20), AtaRequests.SNAP_BYTES));
                    RawSocket sender = NetNs.openRawSocket(client.namespace(), client.interfaceName())) {
                bed.ip("-n", watcher.namespace(), "link", "set", watcher.interfaceName(), "down");
                bed.ip("-n", watcher.namespace(), "link", "set", watcher.interfaceName(), "up");
                List<Long> seen = new ArrayList<>();
                PacketRing.FrameSink sink = (frame, length, wire) -> seen.add(AtaRequests.classify(frame, length));
                assertThatThrownBy(() -> ring.receive(sink, Duration.ofMillis(300)))
                        .isInstanceOfSatisfying(SyscallException.class,
                                e -> assertThat(e.errnoName()).isEqualTo("ENETDOWN"));
                long start = System.nanoTime();
                assertThat(ring.receive(sink, Duration.ofMillis(300))).isZero();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as("an idle ring waits its timeout")
                        .isGreaterThanOrEqualTo(Duration.ofMillis(250));
                EthernetHeader eth = new EthernetHeader(watcher.mac(), client.mac());
                sender.send(FrameEncoder.INSTANCE.encode(AtaMessage.request(eth, new AoeTarget(1, 2), 1, AtaFlags.NONE,
                        AtaCommand.READ_SECTORS, 0, 1, null)));
                await().atMost(Duration.ofSeconds(5)).until(() -> {
                    ring.receive(sink, Duration.ofMillis(50));
                    return seen.size() == 1;
                });
            }
        }
    }
}
