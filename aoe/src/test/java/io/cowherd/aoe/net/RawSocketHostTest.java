package io.cowherd.aoe.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cowherd.aoe.frame.AoeHeader;
import io.cowherd.aoe.frame.AoeCommand;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.ConfigCommand;
import io.cowherd.aoe.frame.EthernetHeader;
import io.cowherd.aoe.frame.FrameEncoder;
import io.cowherd.aoe.frame.QueryConfigMessage;
import io.cowherd.aoe.testbed.AoeTestBed;
import io.cowherd.aoe.testbed.AoeTestBed.Host;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Raw sockets opened through {@link NetNs} in two namespaces of a test segment; runs as root. */
@Tag("host")
class RawSocketHostTest {

    private static AoeTestBed bed;
    private static Host hostA;
    private static Host hostB;
    private static RawSocket socketA;
    private static RawSocket socketB;

    @BeforeAll
    static void openSockets() throws IOException {
        bed = AoeTestBed.create(1500);
        hostA = bed.addHost("a");
        hostB = bed.addHost("b");
        socketA = NetNs.openRawSocket(hostA.namespace(), hostA.interfaceName());
        socketB = NetNs.openRawSocket(hostB.namespace(), hostB.interfaceName());
    }

    @AfterAll
    static void tearDown() {
        if (socketA != null) {
            socketA.close();
        }
        if (socketB != null) {
            socketB.close();
        }
        if (bed != null) {
            bed.close();
        }
    }

    @Test
    void macAndMtuComeFromTheInterfaceInItsNamespace() throws IOException {
        assertThat(socketA.localAddress()).isEqualTo(hostA.mac());
        assertThat(socketA.interfaceName()).isEqualTo("aoe0");
        assertThat(socketA.mtuBytes()).isEqualTo(1500);

        bed.ip("-n", hostA.namespace(), "link", "set", "aoe0", "mtu", "1400");
        try {
            assertThat(socketA.mtuBytes()).isEqualTo(1400);
        } finally {
            bed.ip("-n", hostA.namespace(), "link", "set", "aoe0", "mtu", "1500");
        }
    }

    @Test
    void a32ByteFrameArrivesUnpaddedOverVeth() throws IOException {
        byte[] frame = FrameEncoder.INSTANCE.encode(new QueryConfigMessage(
                new EthernetHeader(hostB.mac(), hostA.mac()),
                AoeHeader.request(new AoeTarget(1, 1), AoeCommand.QUERY_CONFIG, 7).reply(new AoeTarget(1, 1)),
                16, 0x4016, 2, 1, ConfigCommand.READ, ""));

        socketA.send(frame, 0, frame.length);
        byte[] buffer = new byte[2048];
        int lengthBytes = socketB.receive(buffer, 0, Duration.ofSeconds(2));

        assertThat(lengthBytes).isEqualTo(32);
        assertThat(Arrays.copyOf(buffer, lengthBytes)).isEqualTo(frame);
    }

    @Test
    void onlyAoeFramesAreReceived() throws IOException {
        byte[] other = FrameEncoder.INSTANCE.encode(QueryConfigMessage.readRequest(
                new EthernetHeader(hostB.mac(), hostA.mac()), AoeTarget.BROADCAST, 1));
        other[12] = (byte) 0x88;                               // Ethernet type 0x88B5 (local experimental)
        other[13] = (byte) 0xB5;

        socketA.send(other, 0, other.length);

        assertThat(socketB.receive(new byte[2048], 0, Duration.ofMillis(300))).isEqualTo(FrameChannel.TIMED_OUT);
    }

    @Test
    void receiveReturnsTimedOutAfterItsTimeout() throws IOException {
        long start = System.nanoTime();

        int result = socketB.receive(new byte[2048], 0, Duration.ofMillis(50));

        assertThat(result).isEqualTo(FrameChannel.TIMED_OUT);
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(Duration.ofMillis(50).toNanos());
    }

    @Test
    void sendingOnADownInterfaceNamesSendAndEnetdown() throws IOException {
        byte[] frame = FrameEncoder.INSTANCE.encode(QueryConfigMessage.readRequest(
                new EthernetHeader(hostB.mac(), hostA.mac()), AoeTarget.BROADCAST, 1));
        bed.ip("-n", hostA.namespace(), "link", "set", "aoe0", "down");
        try {
            assertThatThrownBy(() -> socketA.send(frame, 0, frame.length))
                    .isInstanceOfSatisfying(SyscallException.class, e -> {
                        assertThat(e.syscall()).startsWith("send(aoe0");
                        assertThat(e.errnoName()).isEqualTo("ENETDOWN");
                    });
        } finally {
            bed.ip("-n", hostA.namespace(), "link", "set", "aoe0", "up");
        }
    }

    @Test
    void aClosedSocketRefusesIo() throws IOException {
        RawSocket socket = NetNs.openRawSocket(hostA.namespace(), hostA.interfaceName());
        socket.close();
        socket.close();

        assertThatThrownBy(() -> socket.send(new byte[60], 0, 60)).isInstanceOf(ClosedChannelException.class);
        assertThatThrownBy(() -> socket.receive(new byte[60], 0, Duration.ZERO)).isInstanceOf(ClosedChannelException.class);
    }
}
