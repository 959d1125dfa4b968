package io.cowherd.agent.slot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.backend.OriginIdentity;
import io.cowherd.agent.support.ReflinkHostLab;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.SlotCapture;
import io.cowherd.api.v1alpha1.SlotPhase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Capture of a reflink slot's disk into a new origin file ({@code spec.capture}, as the operator
 * writes it from {@code cowherd.io/capture-to}), on a loop-mounted XFS (reflink=1) with a real
 * clone and a real vblade: the new file holds the origin plus the client's writes, is read-only,
 * reported with identity, size and duration in {@code status.capture} and an Event; the exporter
 * keeps running and the origin and the slot's clone are unchanged; later writes of the client do
 * not reach the new file. Refused, with nothing written or replaced: an existing file, a path
 * outside the image roots, a directory that does not exist. Each path is acted on once.
 */
@Tag("host")
class CaptureHostTest {
  private static final int ORIGIN_BYTES = 16 << 20;
  private static final byte[] V1 = "origin v1 boot sector".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CLIENT_WRITE = "set up by hand".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] LATER = "written after".getBytes(StandardCharsets.US_ASCII);

  @TempDir Path tmp;
  private ReflinkHostLab lab;

  @BeforeEach
  void setUp() throws IOException {
    lab = ReflinkHostLab.start(tmp, ReflinkHostLab.sparseOrigin(ORIGIN_BYTES, V1));
  }

  @AfterEach
  void cleanUp() throws IOException {
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  void captureWritesOriginPlusClientDataIntoANewReadOnlyFileWhileTheExporterKeepsRunning() throws Exception {
    AoeBootSlot slot = aSlot().shelf(9).slot(0).iface(lab.iface).image(lab.origin.toString())
        .backend(CowBackend.REFLINK).generation(1).build();
    Path clone = lab.stateDir.resolve("lab/debian/slot-0.img");
    AoeBootSlotStatus before = lab.reconcile(slot);
    assertThat(before.getPhase()).isEqualTo(SlotPhase.Serving);
    ReflinkHostLab.writeAt(clone, ORIGIN_BYTES / 2, CLIENT_WRITE);
    OriginIdentity originBefore = OriginIdentity.of(lab.origin);
    Path golden = lab.images.resolve("debian-golden.img");

    slot.getSpec().setCapture(golden.toString());
    slot.getMetadata().setGeneration(2L);
    AoeBootSlotStatus after = lab.reconcile(slot);

    SlotCapture c = after.getCapture();
    assertThat(c.getResult()).as(c.getMessage()).isEqualTo(SlotCapture.CAPTURED);
    assertThat(c.getPath()).isEqualTo(golden.toString());
    assertThat(c.getSizeBytes()).isEqualTo(ORIGIN_BYTES);
    assertThat(c.getIdentity()).isEqualTo(OriginIdentity.of(golden).format());
    assertThat(c.getDurationMillis()).isNotNull().isNotNegative();
    assertThat(c.getFinishedAt()).isNotBlank();
    System.out.printf("reflink capture of a 16 MiB slot (XFS on loop): %d ms%n", c.getDurationMillis());
    assertThat(ReflinkHostLab.read(golden, 0, V1.length)).isEqualTo(V1);
    assertThat(ReflinkHostLab.read(golden, ORIGIN_BYTES / 2, CLIENT_WRITE.length)).as("the client's data").isEqualTo(CLIENT_WRITE);
    assertThat(Files.getPosixFilePermissions(golden)).isEqualTo(PosixFilePermissions.fromString("r--r--r--"));
    assertThat(lab.images).isDirectoryNotContaining("glob:**.capture-partial");
    assertThat(after.getExporterPid()).as("reflink: the exporter keeps running").isEqualTo(before.getExporterPid());
    assertThat(after.getPhase()).isEqualTo(SlotPhase.Serving);
    assertThat(OriginIdentity.of(lab.origin)).as("origin untouched").isEqualTo(originBefore);
    assertThat(lab.eventMessages).filteredOn(e -> e.startsWith("Normal Captured")).singleElement().asString()
        .contains(golden.toString()).contains(c.getIdentity());

    ReflinkHostLab.writeAt(clone, ORIGIN_BYTES / 4, LATER);
    assertThat(ReflinkHostLab.read(golden, ORIGIN_BYTES / 4, LATER.length)).as("a copy, not a link to the clone").isNotEqualTo(LATER);
    OriginIdentity goldenIdentity = OriginIdentity.of(golden);
    lab.reconcile(slot);
    assertThat(lab.eventMessages).as("once per path").filteredOn(e -> e.contains("Captured")).hasSize(1);
    assertThat(OriginIdentity.of(golden)).isEqualTo(goldenIdentity);

    AoeBootSlot onGolden = aSlot().shelf(9).slot(1).iface(lab.iface).image(golden.toString())
        .backend(CowBackend.REFLINK).build();
    assertThat(lab.reconcile(onGolden).getPhase()).as("the capture serves as an origin").isEqualTo(SlotPhase.Serving);
    assertThat(ReflinkHostLab.read(lab.stateDir.resolve("lab/debian/slot-1.img"), ORIGIN_BYTES / 2, CLIENT_WRITE.length))
        .isEqualTo(CLIENT_WRITE);
  }

  @Test
  void captureNeverReplacesAFileAndStaysInsideTheImageRoots() throws Exception {
    AoeBootSlot slot = aSlot().shelf(9).slot(2).iface(lab.iface).image(lab.origin.toString())
        .backend(CowBackend.REFLINK).build();
    long pid = lab.reconcile(slot).getExporterPid();
    Path existing = lab.images.resolve("taken.img");
    Files.writeString(existing, "someone's file");
    Path outsideDir = Files.createDirectories(tmp.resolve("elsewhere"));

    assertFailed(slot, existing.toString(), "exists already");
    assertThat(Files.readString(existing)).isEqualTo("someone's file");
    assertFailed(slot, outsideDir.resolve("x.img").toString(), "not under an allowed image root");
    assertThat(outsideDir).isEmptyDirectory();
    assertFailed(slot, lab.images.resolve("missing/x.img").toString(), "does not exist");
    Path link = Files.createSymbolicLink(lab.images.resolve("escape"), outsideDir);
    assertFailed(slot, link.resolve("y.img").toString(), "not under an allowed image root");
    assertThat(outsideDir).isEmptyDirectory();

    assertThat(lab.eventMessages).filteredOn(e -> e.startsWith("Warning CaptureFailed")).hasSize(4);
    assertThat(slot.getStatus().getExporterPid()).isEqualTo(pid);
    assertThat(slot.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
  }

  private void assertFailed(AoeBootSlot slot, String path, String why) {
    slot.getSpec().setCapture(path);
    SlotCapture c = lab.reconcile(slot).getCapture();
    assertThat(c.getPath()).isEqualTo(path);
    assertThat(c.getResult()).isEqualTo(SlotCapture.FAILED);
    assertThat(c.getMessage()).contains(why).contains("nothing written");
  }

}
