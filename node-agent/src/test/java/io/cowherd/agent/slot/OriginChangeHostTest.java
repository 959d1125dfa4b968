package io.cowherd.agent.slot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.backend.OriginIdentity;
import io.cowherd.agent.support.ReflinkHostLab;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An origin changed under a live reflink slot, on a loop-mounted XFS (reflink=1) with a real clone
 * and a real vblade: the identity is recorded when the clone is made, each kind of change is seen
 * on a following reconcile (status.origin.changed, one Warning Event {@code OriginChanged}), the
 * slot keeps serving its own unchanged clone, a new slot of the pool is refused with reason
 * {@code OriginChanged}, and nothing is deleted.
 */
@Tag("host")
class OriginChangeHostTest {
  private static final int ORIGIN_BYTES = 16 << 20;
  private static final byte[] MARKER = "origin v1 boot sector".getBytes(StandardCharsets.US_ASCII);

  /** How the user changes the origin file. */
  enum Change {
    /** Same size, bytes written in the middle, mtime put back with {@code touch -d}. */
    REWRITTEN_IN_PLACE,
    /** Truncated to half its size. */
    TRUNCATED,
    /** Another file of the same size renamed over it (same path, new inode). */
    REPLACED_AT_SAME_PATH
  }

  @TempDir Path tmp;
  private ReflinkHostLab lab;
  private Path origin;

  @BeforeEach
  void setUp() throws IOException {
    lab = ReflinkHostLab.start(tmp, ReflinkHostLab.sparseOrigin(ORIGIN_BYTES, MARKER));
    origin = lab.origin;
  }

  @AfterEach
  void cleanUp() throws IOException {
    if (lab != null) {
      lab.close();
    }
  }

  @ParameterizedTest
  @EnumSource(Change.class)
  void anOriginChangedUnderAReflinkSlotIsReportedWhileTheSlotKeepsServingItsClone(Change change) throws Exception {
    AoeBootSlot slot0 = slot(0);
    Path clone = lab.stateDir.resolve("lab/debian/slot-0.img");
    OriginIdentity made = OriginIdentity.of(origin);

    AoeBootSlotStatus s = reconcile(slot0);
    assertThat(s.getPhase()).isEqualTo(SlotPhase.Serving);
    assertThat(s.getOrigin().getPath()).isEqualTo(origin.toString());
    assertThat(s.getOrigin().getIdentity()).isEqualTo(made.format());
    assertThat(s.getOrigin().getChanged()).isFalse();
    assertThat(s.getOrigin().getCurrentIdentity()).isNull();
    assertThat(Files.readAllLines(lab.stateDir.resolve("lab/debian/slot-0.img.origin")))
        .as("stamp: origin path, its identity, the slot object that serves the store")
        .containsExactly(origin.toString(), made.format(), "served-by " + slot0.getMetadata().getUid());
    long pid = s.getExporterPid();

    String expected = switch (change) {
      case REWRITTEN_IN_PLACE -> {
        long mtime = Files.getLastModifiedTime(origin).to(TimeUnit.SECONDS);
        try (RandomAccessFile f = new RandomAccessFile(origin.toFile(), "rw")) {
          f.seek(ORIGIN_BYTES / 2);
          f.write("patched".getBytes(StandardCharsets.US_ASCII));
        }
        run("touch", "-d", "@" + mtime, origin.toString());
        assertThat(Files.size(origin)).isEqualTo(ORIGIN_BYTES);
        assertThat(Files.getLastModifiedTime(origin).to(TimeUnit.SECONDS)).isEqualTo(mtime);
        yield "changed in place";
      }
      case TRUNCATED -> {
        try (RandomAccessFile f = new RandomAccessFile(origin.toFile(), "rw")) {
          f.setLength(ORIGIN_BYTES / 2);
        }
        yield "truncated or extended (size " + ORIGIN_BYTES + " → " + ORIGIN_BYTES / 2 + " bytes)";
      }
      case REPLACED_AT_SAME_PATH -> {
        Path v2 = lab.images.resolve("debian.img.new");
        ReflinkHostLab.sparseOrigin(ORIGIN_BYTES, "origin v2 boot sector".getBytes(StandardCharsets.US_ASCII)).write(v2);
        Files.move(v2, origin, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        yield "replaced by another file";
      }
    };

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(reconcile(slot0).getOrigin().getChanged()).isTrue());
    AoeBootSlotStatus after = slot0.getStatus();
    assertThat(after.getPhase()).as("a reflink clone is a file of its own: it keeps serving").isEqualTo(SlotPhase.Serving);
    assertThat(after.getExporterPid()).isEqualTo(pid);
    assertThat(after.getOrigin().getIdentity()).isEqualTo(made.format());
    assertThat(after.getOrigin().getCurrentIdentity()).isEqualTo(OriginIdentity.of(origin).format());
    assertThat(lab.eventMessages).filteredOn(e -> e.startsWith("Warning OriginChanged")).singleElement().asString()
        .contains(expected).contains("keeps serving its own clone");
    reconcile(slot0);
    assertThat(lab.eventMessages).as("warned once").filteredOn(e -> e.startsWith("Warning OriginChanged")).hasSize(1);
    assertThat(ReflinkHostLab.read(clone, 0, MARKER.length)).as("the clone still holds origin v1").isEqualTo(MARKER);

    AoeBootSlot slot1 = slot(1);
    Exception refused = null;
    try {
      reconcile(slot1);
    } catch (RuntimeException e) {
      refused = e;
    }
    assertThat(refused).as("no new clone from a changed origin").isNotNull();
    ErrorStatusUpdateControl<AoeBootSlot> error = lab.agent.reconciler.updateErrorStatus(slot1, null, refused);
    AoeBootSlotStatus s1 = error.getResource().orElseThrow().getStatus();
    assertThat(s1.getPhase()).isEqualTo(SlotPhase.Failed);
    assertThat(s1.getMessage()).contains(expected).contains("refusing to make a new COW store");
    assertThat(lab.eventMessages).anyMatch(e -> e.startsWith("Warning OriginChanged") && e.contains("refusing"));
    assertThat(lab.stateDir.resolve("lab/debian/slot-1.img")).doesNotExist();
    assertThat(lab.stateDir.resolve("lab/debian/slot-1.img.partial")).doesNotExist();
    assertThat(clone).as("nothing deleted").exists();
    assertThat(lab.stateDir.resolve("lab/debian/slot-0.img.origin")).exists();
  }

  private AoeBootSlot slot(int n) {
    return aSlot().shelf(9).slot(n).iface(lab.iface).image(origin.toString()).backend(CowBackend.REFLINK).build();
  }

  private AoeBootSlotStatus reconcile(AoeBootSlot slot) {
    return lab.reconcile(slot);
  }

  private static void run(String... argv) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(argv).inheritIO().start();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
  }
}
