package io.cowherd.aoe.initiator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.cowherd.aoe.frame.AoeConstants;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.AtaCommand;
import io.cowherd.aoe.frame.AtaIdentity;
import io.cowherd.aoe.testbed.AoeTestBed;
import io.cowherd.aoe.testbed.AoeTestBed.Host;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The initiator against a real vblade: vblade in a "srv" namespace exports an 8 MiB file of known
 * pseudo-random content, the initiator's raw socket lives in a "cli" namespace, both on a bridge
 * in a third namespace. Runs as root; fails naming what is missing otherwise.
 */
@Tag("host")
class AoeInitiatorHostTest {

    private static final AoeTarget TARGET = new AoeTarget(41, 3);
    private static final long IMAGE_BYTES = 8L << 20;
    private static final int IMAGE_SECTORS = (int) (IMAGE_BYTES / AoeConstants.SECTOR_BYTES);

    private static AoeTestBed bed;
    private static Host server;
    private static Host client;
    private static Path image;
    private static AoeInitiator initiator;

    @BeforeAll
    static void startExporter() throws IOException {
        bed = AoeTestBed.create(1500);
        server = bed.addHost("srv");
        client = bed.addHost("cli");
        image = bed.createImage("e41.3.img", IMAGE_BYTES, 41);
        bed.startVblade(server, TARGET, image);
        initiator = bed.initiator(client, InitiatorOptions.defaults());
        await().atMost(Duration.ofSeconds(15)).until(() -> !initiator.discover(Duration.ofMillis(200)).isEmpty());
    }

    @AfterAll
    static void tearDown() {
        if (initiator != null) {
            initiator.close();
        }
        if (bed != null) {
            bed.close();
        }
    }

    @Test
    void discoveryFindsTheTargetFromExactlyOneMac() throws IOException {
        List<DiscoveredTarget> found = initiator.discover(Duration.ofSeconds(1));

        assertThat(found).hasSize(1);
        DiscoveredTarget only = found.getFirst();
        assertThat(only.target()).isEqualTo(TARGET);
        assertThat(only.mac()).isEqualTo(server.mac());
        assertThat(only.maxSectorsPerFrame()).isEqualTo((1500 - 36) / 512);
        assertThat(only.bufferCount()).isPositive();
    }

    @Test
    void identifyReportsTheFileSizeInSectors() throws IOException {
        AtaIdentity identity = initiator.identify(TARGET);

        assertThat(identity.lba48Supported()).isTrue();
        assertThat(identity.sectorCount()).isEqualTo(IMAGE_SECTORS);
        assertThat(identity.model()).contains("vblade");
        assertThat(identity.serialNumber()).startsWith("41.3");
    }

    @Test
    void fullReadEqualsTheFile() throws IOException {
        byte[] read = initiator.read(TARGET, 0, IMAGE_SECTORS);

        assertThat(Arrays.equals(read, Files.readAllBytes(image))).as("read of all %d sectors equals %s",
                IMAGE_SECTORS, image).isTrue();
    }

    @Test
    void writtenSectorsReadBackAndReachTheFile() throws IOException {
        long lba = 1001; // odd, so frames of 2 sectors do not line up with it
        byte[] data = new byte[7 * AoeConstants.SECTOR_BYTES];
        new SplittableRandom(7).nextBytes(data);

        initiator.write(TARGET, lba, data);
        initiator.flushCache(TARGET);

        assertThat(initiator.read(TARGET, lba, 7)).isEqualTo(data);
        assertThat(fileBytes(lba * AoeConstants.SECTOR_BYTES, data.length)).isEqualTo(data);
    }

    @Test
    void readPastTheEndIsRefusedByTheTarget() {
        assertThatThrownBy(() -> initiator.read(TARGET, IMAGE_SECTORS - 1, 2))
                .isInstanceOfSatisfying(AoeErrorException.class, e -> {
                    assertThat(e.isAoeLevel()).isFalse();
                    assertThat(e.ataError()).isEqualTo(AoeConstants.ATA_ERROR_IDNF);
                });
    }

    @Test
    void vbladeAbortsFlushCacheExtButAcceptsFlushCache() throws IOException {
        initiator.flushCache(TARGET);

        assertThatThrownBy(() -> initiator.command(TARGET, AtaCommand.FLUSH_CACHE_EXT))
                .isInstanceOfSatisfying(AoeErrorException.class,
                        e -> assertThat(e.ataError()).isEqualTo(AoeConstants.ATA_ERROR_ABRT));
    }

    @Test
    void readOfAnAbsentTargetTimesOut() throws IOException {
        InitiatorOptions quick = new InitiatorOptions(Duration.ofMillis(100), 2, 16);
        try (AoeInitiator impatient = bed.initiator(client, quick)) {
            assertThatThrownBy(() -> impatient.read(new AoeTarget(41, 200), 0, 1))
                    .isInstanceOfSatisfying(AoeTimeoutException.class, e -> {
                        assertThat(e.target()).isEqualTo(new AoeTarget(41, 200));
                        assertThat(e.attempts()).isEqualTo(3);
                    });
        }
    }

    private static byte[] fileBytes(long offsetBytes, int lengthBytes) throws IOException {
        try (FileChannel file = FileChannel.open(image)) {
            ByteBuffer buffer = ByteBuffer.allocate(lengthBytes);
            file.read(buffer, offsetBytes);
            return buffer.array();
        }
    }
}
