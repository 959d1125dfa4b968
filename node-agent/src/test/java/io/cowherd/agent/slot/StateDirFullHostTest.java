package io.cowherd.agent.slot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.support.HostTools;
import io.cowherd.agent.support.ReflinkHostLab;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.SlotPhase;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full state dir filesystem (a 512 MiB loop-mounted XFS filled with fallocate(1)) shows in
 * status as Failed while the exporter keeps serving reads, and the slot returns to Serving when
 * space comes back. Nothing is deleted.
 */
@Tag("host")
class StateDirFullHostTest {
  @TempDir Path tmp;
  private ReflinkHostLab lab;
  private Path origin;

  @BeforeEach
  void setUp() throws IOException {
    HostTools.requireProgram("fallocate", "util-linux");
    lab = ReflinkHostLab.start(tmp, ReflinkHostLab.sparseOrigin(16 << 20, new byte[0]));
    origin = lab.origin;
  }

  @AfterEach
  void cleanUp() throws IOException {
    if (lab != null) {
      lab.close();
    }
  }

  private AoeBootSlotStatus reconcile(AoeBootSlot slot) {
    return lab.reconcile(slot);
  }

  @Test
  void aFullStateDirFailsTheSlotKeepsItsExporterAndRecovers() throws IOException {
    AoeBootSlot slot = aSlot().shelf(9).slot(3).iface(lab.iface).image(origin.toString()).backend(CowBackend.REFLINK).build();
    AoeBootSlotStatus serving = reconcile(slot);
    assertThat(serving.getPhase()).isEqualTo(SlotPhase.Serving);
    long pid = serving.getExporterPid();

    Path filler = lab.fs.mountPoint().resolve("filler");
    long usable = Files.getFileStore(lab.stateDir).getUsableSpace();
    HostTools.run("fallocate", "-l", Long.toString(usable - (1 << 20)), filler.toString());

    AoeBootSlotStatus full = reconcile(slot);
    assertThat(full.getPhase()).isEqualTo(SlotPhase.Failed);
    assertThat(full.getMessage()).matches("state dir " + lab.stateDir + " filesystem is full \\(\\d+ bytes free\\): client writes fail");
    assertThat(full.getExporterPid()).as("reads still work: the exporter keeps running").isEqualTo(pid);
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isTrue();
    assertThat(lab.stateDir.resolve("lab/debian/slot-3.img")).exists();
    assertThat(lab.events).contains("Warning StateDirFull");

    Files.delete(filler);
    // XFS frees a deleted file's blocks asynchronously (background inode inactivation): wait for it.
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      AoeBootSlotStatus back = reconcile(slot);
      assertThat(back.getPhase()).isEqualTo(SlotPhase.Serving);
      assertThat(back.getExporterPid()).isEqualTo(pid);
    });
  }

  @Test
  void aSlotWhoseSpaceCannotBeReservedIsRefusedWithAClearStatusBeforeAnyHostChange() throws IOException {
    Path big = origin.resolveSibling("big.img");
    try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
      f.setLength(300L << 20); // sparse: costs nothing, but each clone is promised a 300 MiB rewrite
    }
    AoeBootSlot first = aSlot().shelf(9).slot(1).iface(lab.iface).image(big.toString()).backend(CowBackend.REFLINK).build();
    assertThat(reconcile(first).getPhase()).isEqualTo(SlotPhase.Serving);
    AoeBootSlot second = aSlot().shelf(9).slot(2).iface(lab.iface).image(big.toString()).backend(CowBackend.REFLINK).build();

    Exception e = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
        () -> lab.agent.reconciler.reconcile(second, null));
    var control = lab.agent.reconciler.updateErrorStatus(second, null, e);

    AoeBootSlotStatus refused = control.getResource().orElseThrow().getStatus();
    assertThat(refused.getPhase()).isEqualTo(SlotPhase.Failed);
    assertThat(refused.getMessage()).contains("needs " + (300L << 20) + " bytes reserved", "can give");
    assertThat(refused.getExporterPid()).isNull();
    assertThat(lab.events).contains("Warning InsufficientSpace");
    assertThat(lab.stateDir.resolve("lab/debian/slot-2.img")).doesNotExist();
    assertThat(lab.stateDir.resolve("lab/debian/slot-2.img.partial")).doesNotExist();
    assertThat(new io.cowherd.agent.host.VbladeProcesses(Path.of("/proc"), new Vblade("vblade")).scan())
        .noneMatch(p -> p.target().shelf() == 9 && p.target().slot() == 2 && p.target().iface().equals(lab.iface));
  }
}
