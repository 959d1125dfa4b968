package io.cowherd.agent.slot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cowherd.agent.backend.OriginIdentity;
import io.cowherd.agent.support.ReflinkHostLab;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.SlotPhase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reflink slot moved to a new origin by a rebuild token ({@code spec.rebuild}, as the operator
 * writes it for a reset or under OnReboot), on a loop-mounted XFS (reflink=1) with real clones and
 * a real vblade: the old clone and the client's writes in it are discarded, the new clone holds the
 * new origin, the stamp and status name the token, an Event names both origins with their
 * identities, a repeated reconcile does not rebuild again, and a new image outside the image roots
 * is refused before the old store is touched. Prints the time from the token to Serving.
 */
@Tag("host")
class OriginRebuildHostTest {
  private static final int ORIGIN_BYTES = 16 << 20;
  private static final byte[] V1 = "origin v1 boot sector".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] V2 = "origin v2 boot sector".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CLIENT_WRITE = "written by the client".getBytes(StandardCharsets.US_ASCII);

  @TempDir Path tmp;
  private ReflinkHostLab lab;
  private Path v2;

  @BeforeEach
  void setUp() throws IOException {
    lab = ReflinkHostLab.start(tmp, ReflinkHostLab.sparseOrigin(ORIGIN_BYTES, V1));
    v2 = lab.images.resolve("debian-v2.img");
    ReflinkHostLab.sparseOrigin(ORIGIN_BYTES, V2).write(v2);
  }

  @AfterEach
  void cleanUp() throws IOException {
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  void aResetTokenRebuildsTheSlotOnTheNewOriginAndDiscardsItsWrites() throws Exception {
    AoeBootSlot slot = aSlot().shelf(9).slot(0).iface(lab.iface).image(lab.origin.toString())
        .backend(CowBackend.REFLINK).generation(1).build();
    Path clone = lab.stateDir.resolve("lab/debian/slot-0.img");
    AoeBootSlotStatus before = reconcile(slot);
    assertThat(before.getPhase()).isEqualTo(SlotPhase.Serving);
    assertThat(before.getOrigin().getStale()).isFalse();
    assertThat(openers(lab.origin)).as("a reflink slot holds nothing of its origin open (agent, vblade)").isEmpty();
    OriginIdentity v1Identity = OriginIdentity.of(lab.origin);
    ReflinkHostLab.writeAt(clone, ORIGIN_BYTES / 2, CLIENT_WRITE);

    slot.getSpec().setPoolImage(v2.toString());
    slot.getMetadata().setGeneration(2L);
    assertThat(reconcile(slot).getOrigin().getStale()).as("the pool moved on; the slot did not").isTrue();
    assertThat(ReflinkHostLab.read(clone, 0, V1.length)).isEqualTo(V1);

    slot.getSpec().setImage(v2.toString());
    slot.getSpec().setRebuild("reset-20261202T1400Z");
    slot.getMetadata().setGeneration(3L);
    long started = System.nanoTime();
    AoeBootSlotStatus after = reconcile(slot);
    long millis = (System.nanoTime() - started) / 1_000_000;
    System.out.printf("reflink rebuild on a new origin (16 MiB sparse, XFS on loop): token to Serving in %d ms%n", millis);

    assertThat(after.getPhase()).isEqualTo(SlotPhase.Serving);
    assertThat(after.getExporterPid()).as("a new exporter for the new clone").isNotEqualTo(before.getExporterPid());
    assertThat(after.getOrigin().getPath()).isEqualTo(v2.toRealPath().toString());
    assertThat(after.getOrigin().getIdentity()).isEqualTo(OriginIdentity.of(v2).format());
    assertThat(after.getOrigin().getRebuild()).isEqualTo("reset-20261202T1400Z");
    assertThat(after.getOrigin().getStale()).isFalse();
    assertThat(ReflinkHostLab.read(clone, 0, V2.length)).as("the clone is of v2").isEqualTo(V2);
    assertThat(ReflinkHostLab.read(clone, ORIGIN_BYTES / 2, CLIENT_WRITE.length)).as("the client's writes are gone")
        .isNotEqualTo(CLIENT_WRITE);
    assertThat(Files.readAllLines(lab.stateDir.resolve("lab/debian/slot-0.img.origin")))
        .contains(v2.toRealPath().toString(), "rebuild reset-20261202T1400Z");
    assertThat(lab.eventMessages).filteredOn(e -> e.startsWith("Normal Rebuilt")).singleElement().asString()
        .contains(lab.origin.toString()).contains(v1Identity.format())
        .contains(v2.toString()).contains(OriginIdentity.of(v2).format());
    assertThat(lab.origin).as("the old origin is never touched").exists();
    assertThat(openers(lab.origin)).as("nothing keeps the old origin attached").isEmpty();
    assertThat(openers(v2)).as("nor the new one: the clone is independent").isEmpty();
    ReflinkHostLab.read(clone, 0, ORIGIN_BYTES); // as a booting client reads its disk through the exporter
    System.out.printf("reflink page cache while a slot on v2 is read (fincore: bytes cached per file; page cache is"
        + " per inode, so a clone's reads never cache its origin's pages):%n%s%n", io.cowherd.agent.support.HostTools
        .run("fincore", "--bytes", lab.origin.toString(), v2.toString(), clone.toString()).stdout());

    reconcile(slot);
    assertThat(lab.eventMessages).as("rebuilt once per token").filteredOn(e -> e.startsWith("Normal Rebuilt")).hasSize(1);
    assertThat(reconcile(slot).getExporterPid()).isEqualTo(after.getExporterPid());
  }

  @Test
  void aNewImageOutsideTheRootsIsRefusedBeforeTheOldStoreIsTouched() throws Exception {
    AoeBootSlot slot = aSlot().shelf(9).slot(1).iface(lab.iface).image(lab.origin.toString())
        .backend(CowBackend.REFLINK).build();
    Path clone = lab.stateDir.resolve("lab/debian/slot-1.img");
    long pid = reconcile(slot).getExporterPid();
    ReflinkHostLab.writeAt(clone, ORIGIN_BYTES / 2, CLIENT_WRITE);
    Path outside = Files.createDirectories(tmp.resolve("elsewhere")).resolve("v3.img");
    ReflinkHostLab.sparseOrigin(ORIGIN_BYTES, V2).write(outside);

    slot.getSpec().setImage(outside.toString());
    slot.getSpec().setRebuild("reset-2");
    assertThatThrownBy(() -> lab.agent.reconciler.reconcile(slot, null)).isInstanceOf(InvalidSlotException.class)
        .hasMessageContaining(outside.toString());

    assertThat(ReflinkHostLab.read(clone, ORIGIN_BYTES / 2, CLIENT_WRITE.length)).as("old store kept").isEqualTo(CLIENT_WRITE);
    assertThat(ProcessHandle.of(pid)).as("old exporter still serving").hasValueSatisfying(p -> assertThat(p.isAlive()).isTrue());
    assertThat(lab.eventMessages).noneMatch(e -> e.startsWith("Normal Rebuilt"));
  }

  /** Processes (pid and fd link) holding {@code file} open, from /proc/[pid]/fd (root reads every process's). */
  private static java.util.List<String> openers(Path file) throws IOException {
    Path real = file.toRealPath();
    java.util.List<String> found = new java.util.ArrayList<>();
    try (var procs = Files.list(Path.of("/proc"))) {
      for (Path proc : procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
        try (var fds = Files.list(proc.resolve("fd"))) {
          fds.filter(fd -> {
            try {
              return Files.readSymbolicLink(fd).equals(real);
            } catch (IOException e) {
              return false; // closed meanwhile
            }
          }).forEach(fd -> found.add(proc.getFileName() + " " + fd));
        } catch (IOException e) {
          // the process ended meanwhile
        }
      }
    }
    return found;
  }

  private AoeBootSlotStatus reconcile(AoeBootSlot slot) {
    return lab.reconcile(slot);
  }


}
