package io.cowherd.agent.slot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cowherd.agent.backend.BackendUnavailableException;
import io.cowherd.agent.backend.DmSnapshotBackend;
import io.cowherd.agent.backend.ReflinkBackend;
import io.cowherd.agent.export.Backoff;
import io.cowherd.agent.export.ControlFrameWatch;
import io.cowherd.agent.export.IngressGuard;
import io.cowherd.agent.export.VbladeSupervisor;
import io.cowherd.agent.host.Cp;
import io.cowherd.agent.host.Dmsetup;
import io.cowherd.agent.host.Fallocate;
import io.cowherd.agent.host.FakeCommandRunner;
import io.cowherd.agent.host.Filefrag;
import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.Losetup;
import io.cowherd.agent.host.NetLinks;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.inventory.StateDirSpace;
import io.cowherd.agent.support.Segments;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input and unusable backends are reported with no host change (no command, no file). */
class SlotReconcilerTest {
  @TempDir Path tmp;
  private Path stateDir;
  private Path images;
  private final FakeCommandRunner fake = new FakeCommandRunner();
  private final List<String> events = new ArrayList<>();
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private SlotReconciler reconciler;
  private SlotStatusWriter writer;
  private ControlFrameWatch watch;

  @BeforeEach
  void setUp() throws IOException {
    stateDir = Files.createDirectories(tmp.resolve("state"));
    images = Files.createDirectories(tmp.resolve("images"));
    try (RandomAccessFile f = new RandomAccessFile(images.resolve("debian.img").toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    Files.createDirectories(tmp.resolve("outside"));
    Files.writeString(tmp.resolve("outside/secret.img"), "x".repeat(512));
    Path sys = Files.createDirectories(tmp.resolve("sys/class/net/eth1")).getParent().getParent().getParent();
    Path proc = Files.createDirectories(tmp.resolve("proc"));
    HostNames names = new HostNames(stateDir);
    Vblade vblade = new Vblade("vblade");
    VbladeProcesses processes = new VbladeProcesses(proc, vblade);
    ExporterEvents exporterEvents = new ExporterEvents();
    VbladeSupervisor supervisor = new VbladeSupervisor(vblade, processes, scheduler, Clock.systemUTC(), Backoff.DEFAULT,
        exporterEvents, Segments.quiet());
    BackendRegistry backends = new BackendRegistry(
        new DmSnapshotBackend(names, new Losetup(fake), new Dmsetup(fake), tmp.resolve("no-dm-control"),
            tmp.resolve("no-dm-control"), new Fallocate(fake)),
        new ReflinkBackend(names, new Cp(fake), new Filefrag(fake)), names);
    writer = new SlotStatusWriter((slot, type, reason, message) -> events.add(type + " " + reason + ": " + message), null);
    IngressGuard guard = Segments.guardOff(exporterEvents);
    watch = Segments.silentWatch(supervisor);
    reconciler = new SlotReconciler("node-a",
        new SlotObserver(new SlotValidator(List.of(images), sys), backends, supervisor, processes, Segments.quiet(),
            new StateDirSpace(stateDir), new NetLinks(sys)),
        new SlotExecutor(backends, supervisor, names, guard, watch), writer, exporterEvents,
        new AttackReporter(guard, watch, (slot, type, reason, message) -> events.add(type + " " + reason + ": " + message),
            Clock.systemUTC()));
  }

  @AfterEach
  void tearDown() {
    watch.close();
    scheduler.shutdownNow();
  }

  private ErrorStatusUpdateControl<AoeBootSlot> reconcileFailing(AoeBootSlot slot) {
    Exception thrown = null;
    try {
      reconciler.reconcile(slot, null);
    } catch (RuntimeException e) {
      thrown = e;
    }
    assertThat(thrown).as("reconcile must fail").isNotNull();
    return reconciler.updateErrorStatus(slot, null, thrown);
  }

  private void assertNoHostChange() throws IOException {
    assertThat(fake.argvs()).isEmpty();
    try (Stream<Path> files = Files.list(stateDir)) {
      assertThat(files).isEmpty();
    }
  }

  @Test
  void imageOutsideTheRootsFailsTheSlotWithoutHostChange() throws IOException {
    Path link = Files.createSymbolicLink(images.resolve("escape.img"), tmp.resolve("outside/secret.img"));
    AoeBootSlot slot = aSlot().image(link.toString()).build();
    ErrorStatusUpdateControl<AoeBootSlot> control = reconcileFailing(slot);

    assertThat(control.getResource().orElseThrow().getStatus().getPhase()).isEqualTo(SlotPhase.Failed);
    assertThat(control.getResource().orElseThrow().getStatus().getMessage()).contains("is not under an allowed image root");
    assertThat(control.isNoRetry()).isTrue();
    assertThat(events).singleElement().asString().startsWith("Warning InvalidSpec");
    assertNoHostChange();
  }

  @Test
  void dmSnapshotWithoutDeviceMapperFailsTheSlotWithoutHostChange() throws IOException {
    AoeBootSlot slot = aSlot().image(images.resolve("debian.img").toString()).backend(CowBackend.DM_SNAPSHOT).build();
    assertThatThrownBy(() -> reconciler.reconcile(slot, null)).isInstanceOf(BackendUnavailableException.class);
    ErrorStatusUpdateControl<AoeBootSlot> control = reconcileFailing(slot);

    assertThat(control.getResource().orElseThrow().getStatus().getMessage())
        .startsWith("device-mapper is not available on this node (no ").endsWith("; modprobe dm_snapshot)");
    assertNoHostChange();
  }

  @Test
  void reflinkOnAFilesystemWithoutReflinkFailsTheSlotWithoutHostChange() throws IOException {
    String type = Files.getFileStore(tmp).type();
    org.junit.jupiter.api.Assumptions.assumeFalse(List.of("btrfs", "xfs").contains(type), "temp dir supports reflink");
    AoeBootSlot slot = aSlot().image(images.resolve("debian.img").toString()).backend(CowBackend.REFLINK).build();
    ErrorStatusUpdateControl<AoeBootSlot> control = reconcileFailing(slot);

    assertThat(control.getResource().orElseThrow().getStatus().getMessage())
        .isEqualTo("state dir " + stateDir + " on filesystem " + type
            + " does not support reflink (FICLONE); use btrfs or XFS with reflink=1, or backend dm-snapshot");
    assertNoHostChange();
  }

  @Test
  void slotOfAnotherNodeIsSkipped() throws IOException {
    AoeBootSlot slot = aSlot().node("node-b").image(images.resolve("debian.img").toString()).build();
    assertThat(reconciler.reconcile(slot, null).isNoUpdate()).isTrue();
    assertThat(events).isEmpty();
    assertNoHostChange();
  }
  @Test
  void aHandMadeSlotWithAnotherNameIsFailedWithoutHostChange() throws IOException {
    AoeBootSlot stray = aSlot().name("debian-3-copy").slot(3).image(images.resolve("debian.img").toString()).build();
    ErrorStatusUpdateControl<AoeBootSlot> control = reconcileFailing(stray);

    assertThat(control.getResource().orElseThrow().getStatus().getPhase()).isEqualTo(SlotPhase.Failed);
    assertThat(control.getResource().orElseThrow().getStatus().getMessage())
        .startsWith("not managed by pool debian: name must be debian-3 and it must be owned by that pool");
    assertThat(control.isNoRetry()).isTrue();
    assertThat(events).singleElement().asString().startsWith("Warning NotManagedByPool");
    assertNoHostChange();
  }

  @Test
  void aSlotWithoutItsPoolAsControllerIsFailedWithoutHostChange() throws IOException {
    AoeBootSlot unowned = aSlot().slot(3).unowned().image(images.resolve("debian.img").toString()).build();
    ErrorStatusUpdateControl<AoeBootSlot> control = reconcileFailing(unowned);

    assertThat(control.getResource().orElseThrow().getStatus().getMessage())
        .startsWith("not managed by pool debian: name must be debian-3 and it must be owned by that pool")
        .contains("no controller ownerReference to AoeBootPool debian");
    assertNoHostChange();
  }

  /** The tester's case: deleting a copy of slot debian-3 deleted debian-3's COW data. */
  @Test
  void deletingAHandMadeSlotReleasesItsFinalizerAndLeavesTheRealSlotsDataAlone() throws IOException {
    Path clone = Files.createDirectories(stateDir.resolve("lab/debian")).resolve("slot-3.img");
    Files.writeString(clone, "client writes of the real debian-3");
    fake.on(List.of("losetup"), "{\"loopdevices\": []}");
    AoeBootSlot stray = aSlot().name("debian-3-copy").slot(3).image(images.resolve("debian.img").toString())
        .backend(CowBackend.REFLINK).build();
    AoeBootSlotStatus terminating = new AoeBootSlotStatus();
    terminating.setPhase(SlotPhase.Terminating);
    terminating.setMessage("tearing down: exporter, then COW store");
    stray.setStatus(terminating);

    assertThat(reconciler.cleanup(stray, null).isRemoveFinalizer()).isTrue();

    assertThat(clone).hasContent("client writes of the real debian-3");
    assertThat(fake.argvs()).isEmpty();
  }
}
