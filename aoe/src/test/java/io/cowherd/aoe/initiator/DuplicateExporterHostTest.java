package io.cowherd.aoe.initiator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.aoe.testbed.AoeTestBed;
import io.cowherd.aoe.testbed.AoeTestBed.Host;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What an initiator sees of exporters on a shared segment: two exporters of one target show up as
 * two MAC addresses (design.md's duplicate-exporter invariant is testable with this), and a
 * {@code vblade -m} exporter is invisible to other initiators. Runs as root.
 */
@Tag("host")
class DuplicateExporterHostTest {

    private AoeTestBed bed;
    private Host server1;
    private Host server2;
    private Host client;
    private Path image;

    @BeforeEach
    void segment() throws IOException {
        bed = AoeTestBed.create(1500);
        server1 = bed.addHost("srv1");
        server2 = bed.addHost("srv2");
        client = bed.addHost("cli");
        image = bed.createImage("small.img", 1 << 20, 43);
    }

    @AfterEach
    void tearDown() {
        bed.close();
    }

    @Test
    void twoExportersOfOneTargetShowUpAsTwoMacs() throws IOException {
        AoeTarget target = new AoeTarget(43, 1);
        bed.startVblade(server1, target, image, "-r");
        bed.startVblade(server2, target, image, "-r");

        try (AoeInitiator initiator = bed.initiator(client, InitiatorOptions.defaults())) {
            await().atMost(Duration.ofSeconds(15)).until(() -> initiator.discover(Duration.ofMillis(300)).size() == 2);

            List<DiscoveredTarget> found = initiator.discover(Duration.ofSeconds(1));
            assertThat(found).extracting(DiscoveredTarget::target).containsOnly(target);
            assertThat(found).extracting(DiscoveredTarget::mac).containsExactlyInAnyOrder(server1.mac(), server2.mac());
            assertThat(initiator.paths(target)).hasSize(2);
        }
    }

    @Test
    void aMacMaskedExporterIgnoresOtherInitiatorsSilently() throws IOException {
        AoeTarget target = new AoeTarget(43, 2);
        MacAddress allowed = server1.mac();
        bed.startVblade(server2, target, image, "-m", allowed.toString());

        try (AoeInitiator allowedInitiator = bed.initiator(server1, InitiatorOptions.defaults());
                AoeInitiator otherInitiator = bed.initiator(client, InitiatorOptions.defaults())) {
            await().atMost(Duration.ofSeconds(15))
                    .until(() -> !allowedInitiator.discover(Duration.ofMillis(300)).isEmpty());

            assertThat(allowedInitiator.discover(Duration.ofMillis(500))).extracting(DiscoveredTarget::mac)
                    .containsExactly(server2.mac());
            assertThat(otherInitiator.discover(Duration.ofSeconds(1))).isEmpty();
        }
    }
}
