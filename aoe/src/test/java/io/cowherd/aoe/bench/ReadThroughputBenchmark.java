package io.cowherd.aoe.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.aoe.frame.AoeConstants;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.InitiatorOptions;
import io.cowherd.aoe.testbed.AoeTestBed;
import io.cowherd.aoe.testbed.AoeTestBed.Host;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Full-read throughput of a 64 MiB file served by vblade over veth (through a bridge namespace),
 * printed, not asserted (lines starting {@code BENCHMARK}). Its name matches none of surefire's
 * default includes, so neither the default build nor {@code -Pall-tests} runs it; run it by name as
 * root: {@code ./mvnw -pl aoe test -Dtest=ReadThroughputBenchmark -Dtest.excludedGroups=}. It needs
 * what the host tests need (tags {@code host}, {@code benchmark}).
 */
@Tag("host")
@Tag("benchmark")
class ReadThroughputBenchmark {

    private static final AoeTarget TARGET = new AoeTarget(42, 0);
    private static final long IMAGE_BYTES = 64L << 20;
    private static final int IMAGE_SECTORS = (int) (IMAGE_BYTES / AoeConstants.SECTOR_BYTES);
    private static final int RUNS = 3;

    @ParameterizedTest(name = "MTU {0}, up to {1} frames in flight")
    @CsvSource({"1500, 1", "1500, 16", "9000, 16"})
    void fullReadThroughput(int mtuBytes, int maxFramesInFlight) throws IOException {
        try (AoeTestBed bed = AoeTestBed.create(mtuBytes)) {
            Host server = bed.addHost("srv");
            Host client = bed.addHost("cli");
            Path image = bed.createImage("bench.img", IMAGE_BYTES, 42);
            bed.startVblade(server, TARGET, image);
            InitiatorOptions options = InitiatorOptions.defaults().withMaxFramesInFlight(maxFramesInFlight);
            try (AoeInitiator initiator = bed.initiator(client, options)) {
                await().atMost(Duration.ofSeconds(15))
                        .until(() -> !initiator.discover(Duration.ofMillis(200)).isEmpty());
                byte[] buffer = new byte[(int) IMAGE_BYTES];
                initiator.read(TARGET, 0, IMAGE_SECTORS, buffer, 0); // warm-up: JIT, page cache
                assertThat(Arrays.equals(buffer, Files.readAllBytes(image))).as("read equals the file").isTrue();
                double best = 0;
                StringBuilder runs = new StringBuilder();
                for (int run = 0; run < RUNS; run++) {
                    long start = System.nanoTime();
                    initiator.read(TARGET, 0, IMAGE_SECTORS, buffer, 0);
                    double seconds = (System.nanoTime() - start) / 1e9;
                    double megabytesPerSecond = IMAGE_BYTES / seconds / 1e6;
                    best = Math.max(best, megabytesPerSecond);
                    runs.append(String.format(Locale.ROOT, " %.1f", megabytesPerSecond));
                }
                int sectorsPerFrame = Math.min(initiator.paths(TARGET).getFirst().maxSectorsPerFrame(),
                        (mtuBytes - AoeConstants.ATA_HEADER_BYTES) / AoeConstants.SECTOR_BYTES);
                System.out.printf(Locale.ROOT,
                        "BENCHMARK read 64 MiB: MTU %d bytes, %d sectors/frame, window %d: best %.1f MB/s (runs:%s MB/s),"
                                + " %d retransmissions%n",
                        mtuBytes, sectorsPerFrame, maxFramesInFlight, best, runs, initiator.retransmissionCount());
            }
        }
    }
}
