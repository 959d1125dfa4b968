package io.cowherd.aoe.initiator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cowherd.aoe.frame.AoeConstants;
import io.cowherd.aoe.frame.AoeError;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.AtaCommand;
import io.cowherd.aoe.frame.AtaFlags;
import io.cowherd.aoe.frame.AtaMessage;
import io.cowherd.aoe.frame.EthernetHeader;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.aoe.frame.QueryConfigMessage;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The initiator against in-memory exporters on a virtual-time segment. */
class AoeInitiatorTest {

    private static final AoeTarget E7_3 = new AoeTarget(7, 3);
    private static final MacAddress EXPORTER_MAC = MacAddress.parse("02:00:00:00:07:03");
    private static final int DISK_SECTORS = 256;

    private final FakeSegment segment = new FakeSegment();
    private final FakeExporter exporter = segment.addExporter(
            new FakeExporter(E7_3, EXPORTER_MAC, FakeSegment.pattern(DISK_SECTORS * 512)));
    private final InitiatorOptions options = new InitiatorOptions(Duration.ofMillis(100), 3, 16);
    private final AoeInitiator initiator = new AoeInitiator(segment, options, segment.ticker());

    @Test
    void discoveryBroadcastsAQueryConfigAndListsEveryTargetMacPair() throws IOException {
        segment.addExporter(new FakeExporter(E7_3, MacAddress.parse("02:00:00:00:99:99"), new byte[512]));
        segment.addExporter(new FakeExporter(new AoeTarget(7, 4), EXPORTER_MAC, new byte[512]));

        List<DiscoveredTarget> found = initiator.discover(Duration.ofMillis(300));

        QueryConfigMessage query = (QueryConfigMessage) segment.sent.getFirst();
        assertThat(query.ethernet().destination()).isEqualTo(MacAddress.BROADCAST);
        assertThat(query.target()).isEqualTo(AoeTarget.BROADCAST);
        assertThat(found).extracting(d -> d.target() + "@" + d.mac()).containsExactly(
                "e7.3@02:00:00:00:07:03", "e7.3@02:00:00:00:99:99", "e7.4@02:00:00:00:07:03");
        assertThat(initiator.paths(E7_3)).hasSize(2);
        assertThat(found.getFirst()).isEqualTo(new DiscoveredTarget(E7_3, EXPORTER_MAC, 16, 2, 0x4016, ""));
    }

    @Test
    void discoveryIgnoresAnnouncementsWithAnotherTag() throws IOException {
        segment.exporters.clear();
        segment.inject(new QueryConfigMessage(new EthernetHeader(MacAddress.BROADCAST, EXPORTER_MAC),
                io.cowherd.aoe.frame.AoeHeader.request(E7_3, io.cowherd.aoe.frame.AoeCommand.QUERY_CONFIG, 0)
                        .reply(E7_3), 16, 0x4016, 2, 1, io.cowherd.aoe.frame.ConfigCommand.READ, ""));

        assertThat(initiator.discover(Duration.ofMillis(300))).isEmpty();
    }

    @Test
    void readSplitsIntoFramesOfTheTargetsMaximumAndReturnsTheSectors() throws IOException {
        byte[] read = initiator.read(E7_3, 5, 7);

        assertThat(read).isEqualTo(Arrays.copyOfRange(exporter.disk, 5 * 512, 12 * 512));
        assertThat(segment.ataRequests()).extracting(m -> m.lba() + "+" + m.sectorCount())
                .containsExactly("5+2", "7+2", "9+2", "11+1");
        assertThat(segment.ataRequests()).allSatisfy(m -> {
            assertThat(m.flags()).isEqualTo(AtaFlags.EXTENDED);
            assertThat(m.ataCommand()).isEqualTo(AtaCommand.READ_SECTORS_EXT);
            assertThat(m.ethernet().destination()).isEqualTo(EXPORTER_MAC);
        });
    }

    @Test
    void framesAreBoundedByTheMtuWhenTheTargetAllowsMore() throws IOException {
        exporter.maxSectorsPerFrame = 255;
        segment.mtuBytes = 9000;

        initiator.read(E7_3, 0, 40);

        assertThat(segment.ataRequests()).extracting(AtaMessage::sectorCount).containsExactly(17, 17, 6);
    }

    @Test
    void readKeepsAWindowOfFramesInFlightBoundedByTheBufferCount() throws IOException {
        exporter.bufferCount = 4;

        initiator.read(E7_3, 0, DISK_SECTORS);

        assertThat(segment.mostRepliesQueued).isEqualTo(4);
        assertThat(segment.ataRequests()).extracting(AtaMessage::tag).doesNotHaveDuplicates();
    }

    @Test
    void lostFramesAreRetransmittedWithTheirTag() throws IOException {
        Set<Integer> lostOnce = new HashSet<>();
        segment.lose = m -> m instanceof AtaMessage a && a.lba() % 10 == 0 && lostOnce.add(a.tag());

        byte[] read = initiator.read(E7_3, 0, 64);

        assertThat(read).isEqualTo(Arrays.copyOf(exporter.disk, 64 * 512));
        List<AtaMessage> toLba20 = segment.ataRequests().stream().filter(m -> m.lba() == 20).toList();
        assertThat(toLba20).hasSize(2);
        assertThat(toLba20.get(0).tag()).isEqualTo(toLba20.get(1).tag());
        assertThat(initiator.retransmissionCount()).isEqualTo(7); // lba 0, 10, ..., 60
    }

    @Test
    void duplicateAndLateRepliesAreIgnored() throws IOException {
        segment.duplicateReplies = true;

        assertThat(initiator.read(E7_3, 0, 32)).isEqualTo(Arrays.copyOf(exporter.disk, 32 * 512));
        assertThat(initiator.read(E7_3, 32, 32)).isEqualTo(Arrays.copyOfRange(exporter.disk, 32 * 512, 64 * 512));
    }

    @Test
    void aFrameLostEveryTimeEndsInATimeoutAfterTheRetries() throws IOException {
        initiator.discover(E7_3);
        segment.lose = m -> m instanceof AtaMessage a && a.lba() == 6;

        assertThatThrownBy(() -> initiator.read(E7_3, 0, 16))
                .isInstanceOfSatisfying(AoeTimeoutException.class, e -> {
                    assertThat(e.target()).isEqualTo(E7_3);
                    assertThat(e.attempts()).isEqualTo(4);
                    assertThat(e.getMessage()).contains("READ_SECTORS_EXT lba=6 sectorCount=2").contains("4 attempts");
                });
        assertThat(segment.ataRequests().stream().filter(m -> m.lba() == 6)).hasSize(4);
        assertThat(segment.elapsedNanos()).isGreaterThanOrEqualTo(Duration.ofMillis(400).toNanos());
    }

    @Test
    void anUndiscoveredTargetIsLookedUpFirstAndAnAbsentOneTimesOut() throws IOException {
        assertThat(initiator.read(E7_3, 0, 1)).hasSize(512);
        assertThat(segment.sent.getFirst()).isInstanceOf(QueryConfigMessage.class);

        AoeTarget absent = new AoeTarget(7, 200);
        assertThatThrownBy(() -> initiator.read(absent, 0, 1))
                .isInstanceOfSatisfying(AoeTimeoutException.class, e -> {
                    assertThat(e.target()).isEqualTo(absent);
                    assertThat(e.attempts()).isEqualTo(4);
                    assertThat(e.getMessage()).contains("QUERY_CONFIG");
                });
    }

    @Test
    void writeSendsExtendedWriteFramesAndTheDataLands() throws IOException {
        byte[] data = new byte[5 * 512];
        Arrays.fill(data, (byte) 0x5A);

        initiator.write(E7_3, 100, data);

        assertThat(Arrays.copyOfRange(exporter.disk, 100 * 512, 105 * 512)).isEqualTo(data);
        assertThat(segment.ataRequests()).allSatisfy(m -> {
            assertThat(m.flags()).isEqualTo(AtaFlags.EXTENDED_WRITE);
            assertThat(m.ataCommand()).isEqualTo(AtaCommand.WRITE_SECTORS_EXT);
        });
        assertThat(segment.ataRequests()).extracting(AtaMessage::sectorCount).containsExactly(2, 2, 1);
    }

    @Test
    void writeRejectsDataThatIsNotWholeSectors() {
        assertThatThrownBy(() -> initiator.write(E7_3, 0, new byte[700]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("512-byte sectors");
    }

    @Test
    void identifyParsesTheCapacity() throws IOException {
        assertThat(initiator.identify(E7_3).sectorCount()).isEqualTo(DISK_SECTORS);
        AtaMessage request = segment.ataRequests().getFirst();
        assertThat(request.ataCommand()).isEqualTo(AtaCommand.IDENTIFY_DEVICE);
        assertThat(request.sectorCount()).isEqualTo(1);
    }

    @Test
    void flushCacheSendsFlushCacheNotTheExtendedOne() throws IOException {
        initiator.flushCache(E7_3);

        assertThat(segment.ataRequests()).extracting(AtaMessage::ataCommand).containsExactly(AtaCommand.FLUSH_CACHE);
    }

    @Test
    void anAtaErrorStatusRaisesAoeErrorException() {
        assertThatThrownBy(() -> initiator.read(E7_3, DISK_SECTORS - 1, 2))
                .isInstanceOfSatisfying(AoeErrorException.class, e -> {
                    assertThat(e.isAoeLevel()).isFalse();
                    assertThat(e.ataStatus() & AoeConstants.ATA_STATUS_ERR).isNotZero();
                    assertThat(e.ataError()).isEqualTo(AoeConstants.ATA_ERROR_IDNF);
                });
    }

    @Test
    void theAoeErrorFlagRaisesAoeErrorException() {
        exporter.refuseWith = AoeError.TARGET_RESERVED;

        assertThatThrownBy(() -> initiator.read(E7_3, 0, 4))
                .isInstanceOfSatisfying(AoeErrorException.class, e -> {
                    assertThat(e.isAoeLevel()).isTrue();
                    assertThat(e.aoeError()).isEqualTo(AoeError.TARGET_RESERVED);
                    assertThat(e.getMessage()).contains("e7.3 rejected READ_SECTORS_EXT");
                });
    }

    @Test
    void theInitiatorIsUsableAfterAFailedOperation() throws IOException {
        assertThatThrownBy(() -> initiator.read(E7_3, DISK_SECTORS - 3, 8)).isInstanceOf(AoeErrorException.class);

        assertThat(initiator.read(E7_3, 0, 8)).isEqualTo(Arrays.copyOf(exporter.disk, 8 * 512));
    }

    @Test
    void broadcastTargetsAreRejectedForIo() {
        assertThatThrownBy(() -> initiator.read(new AoeTarget(7, 255), 0, 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void closeClosesTheChannel() {
        initiator.close();

        assertThat(segment.isClosed()).isTrue();
    }
}
