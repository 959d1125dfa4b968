package io.cowherd.agent.slot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.inventory.HostInventory;
import io.cowherd.agent.inventory.UnclaimedStores.UnclaimedStore;
import io.cowherd.agent.support.Exporters;
import io.cowherd.agent.support.ReflinkHostLab;
import io.cowherd.api.SlotReclaim;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.ReclaimPolicy;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the deletion of a slot object does on the host, by its reclaim mark ({@link SlotReclaim}):
 * reflink clones on a loop-mounted XFS, real vblade exporters on a veth pair the test owns. The
 * client's data is bytes written into the clone at 1 MiB, where the origin holds zeros.
 */
@Tag("host")
class SlotReclaimHostTest {
  private static final byte[] CLIENT_DATA = "client wrote this".getBytes(StandardCharsets.US_ASCII);
  private static final long CLIENT_OFFSET_BYTES = 1 << 20;

  @TempDir Path tmp;
  private ReflinkHostLab lab;
  private Path origin;
  private Path clone;

  @BeforeEach
  void setUp() throws IOException {
    lab = ReflinkHostLab.start(tmp, ReflinkHostLab.sparseOrigin(16 << 20, new byte[0]));
    origin = lab.origin;
    clone = lab.stateDir.resolve("lab/debian/slot-2.img");
  }

  @AfterEach
  void cleanUp() throws IOException {
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  void deletionMarkedDeleteRemovesExporterAndCowStore() throws IOException {
    AoeBootSlot slot = servedSlotWithClientData();

    slot.getMetadata().setAnnotations(SlotReclaim.mark(ReclaimPolicy.Delete));
    assertThat(lab.agent.reconciler.cleanup(slot, null).isRemoveFinalizer()).isTrue();

    assertThat(clone).doesNotExist();
    assertThat(lab.stateDir.resolve("lab")).doesNotExist();
    assertThat(exportersOfClone()).isEmpty();
    assertThat(origin).exists();
  }

  @Test
  void deletionMarkedRetainStopsTheExporterAndKeepsTheCowStoreWhichTheNextSlotServes() throws IOException {
    AoeBootSlot slot = servedSlotWithClientData();

    slot.getMetadata().setAnnotations(SlotReclaim.mark(ReclaimPolicy.Retain));
    assertThat(lab.agent.reconciler.cleanup(slot, null).isRemoveFinalizer()).isTrue();

    assertThat(exportersOfClone()).isEmpty();
    assertThat(clientData()).isEqualTo(CLIENT_DATA);

    AoeBootSlotStatus again = reconcile(newSlot());
    assertThat(again.getPhase()).isEqualTo(SlotPhase.Serving);
    assertThat(again.getCowStorePath()).isEqualTo(clone.toString());
    assertThat(exportersOfClone()).hasSize(1);
    assertThat(clientData()).as("scale-up after Retain: the client's data is back").isEqualTo(CLIENT_DATA);
  }

  @Test
  void deletionWithoutMarkChangesNothingOnTheHostAndTheNextSlotAdoptsTheRunningExporter() throws IOException {
    AoeBootSlot slot = servedSlotWithClientData();
    long pid = slot.getStatus().getExporterPid();

    assertThat(lab.agent.reconciler.cleanup(slot, null).isRemoveFinalizer()).as("only the finalizer is released").isTrue();

    assertThat(ProcessHandle.of(pid)).hasValueSatisfying(h -> assertThat(h.isAlive()).isTrue());
    assertThat(clientData()).isEqualTo(CLIENT_DATA);
    assertThat(lab.events).contains("Normal HostStateKept");

    AoeBootSlotStatus again = reconcile(newSlot());
    assertThat(again.getPhase()).isEqualTo(SlotPhase.Serving);
    assertThat(again.getExporterPid()).as("the same exporter, adopted, never stopped").isEqualTo(pid);
    assertThat(again.getRestarts()).isZero();
    assertThat(exportersOfClone()).hasSize(1);
  }

  @Test
  void deletionWithAnUnknownMarkKeepsEverything() throws IOException {
    AoeBootSlot slot = servedSlotWithClientData();
    long pid = slot.getStatus().getExporterPid();

    slot.getMetadata().setAnnotations(java.util.Map.of(SlotReclaim.ANNOTATION, "delete")); // wrong case: not ours
    assertThat(lab.agent.reconciler.cleanup(slot, null).isRemoveFinalizer()).isTrue();

    assertThat(ProcessHandle.of(pid)).hasValueSatisfying(h -> assertThat(h.isAlive()).isTrue());
    assertThat(clientData()).isEqualTo(CLIENT_DATA);
  }

  @Test
  void aKeptCowStoreIsNeitherServedNorRemovedForASlotWithAnotherOrigin() throws IOException {
    AoeBootSlot slot = servedSlotWithClientData();
    slot.getMetadata().setAnnotations(SlotReclaim.mark(ReclaimPolicy.Retain));
    lab.agent.reconciler.cleanup(slot, null);
    Path otherOrigin = origin.resolveSibling("other.img");
    Files.copy(origin, otherOrigin);

    AoeBootSlot sameNameOtherImage = aSlot().shelf(9).slot(2).iface(lab.iface).image(otherOrigin.toString())
        .backend(CowBackend.REFLINK).build();
    Exception refused = org.assertj.core.api.Assertions.catchException(() -> lab.agent.reconciler.reconcile(sameNameOtherImage, null));
    AoeBootSlotStatus status = lab.agent.reconciler.updateErrorStatus(sameNameOtherImage, null, refused).getResource()
        .orElseThrow().getStatus();

    assertThat(status.getPhase()).isEqualTo(SlotPhase.Failed);
    assertThat(status.getMessage()).contains("was made from origin " + origin.toRealPath());
    assertThat(lab.events).contains("Warning HostConflict");
    assertThat(exportersOfClone()).isEmpty();
    assertThat(clientData()).isEqualTo(CLIENT_DATA);
  }

  @Test
  void retainedStoreIsReportedUnclaimedAfterTwoScansAndNeverRemoved() throws IOException {
    AoeBootSlot slot = servedSlotWithClientData();
    slot.getMetadata().setAnnotations(SlotReclaim.mark(ReclaimPolicy.Retain));
    lab.agent.reconciler.cleanup(slot, null);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    HostNames names = new HostNames(lab.stateDir);
    UnclaimedStateReporter reporter = new UnclaimedStateReporter(names,
        new HostInventory(names, new VbladeProcesses(Path.of("/proc"), new Vblade("vblade"))), Stream::empty,
        namespace -> true, lab.client, "node-a", Clock.systemUTC(), registry);

    List<UnclaimedStore> first = reporter.scan();
    List<UnclaimedStore> second = reporter.scan();

    assertThat(first).as("one scan is not enough: a slot deleted by hand is recreated within seconds").isEmpty();
    assertThat(second).singleElement().satisfies(s -> {
      assertThat(s.path()).isEqualTo(clone);
      assertThat(s.sizeBytes()).isEqualTo(16 << 20);
    });
    assertThat(registry.scrape()).as("the names docs/metrics.md gives")
        .contains("cowherd_agent_unclaimed_cow_stores 1.0").contains("cowherd_agent_unclaimed_cow_store_bytes 1.6777216E7");
    assertThat(clientData()).isEqualTo(CLIENT_DATA);

    UnclaimedStateReporter claimed = new UnclaimedStateReporter(names,
        new HostInventory(names, new VbladeProcesses(Path.of("/proc"), new Vblade("vblade"))),
        () -> Stream.of(newSlot()), namespace -> true, lab.client, "node-a", Clock.systemUTC(), new SimpleMeterRegistry());
    claimed.scan();
    assertThat(claimed.scan()).as("a slot object claims it again").isEmpty();
  }

  @Test
  void aSlotRecreatedAfterAbandonmentMovesTheAbandonedStoreAsideAndStartsFromAnEmptyOne() throws IOException {
    AoeBootSlot abandoned = servedSlotWithClientData();
    long oldPid = abandoned.getStatus().getExporterPid();
    String abandonedUid = abandoned.getMetadata().getUid();
    assertThat(io.cowherd.agent.backend.OriginStamp.read(clone).orElseThrow().servedBy()).contains(abandonedUid);
    // The operator released the slot itself (its Node was gone): the agent saw no cleanup, so the
    // exporter and the store are still there when the recreated slot arrives on this node.
    AoeBootSlot recreated = newSlot();
    recreated.getMetadata().setUid("uid-recreated");
    recreated.getMetadata().setAnnotations(SlotReclaim.abandonment(abandonedUid));

    AoeBootSlotStatus status = reconcile(recreated);

    assertThat(status.getPhase()).isEqualTo(SlotPhase.Serving);
    assertThat(status.getExporterPid()).as("a new exporter").isNotEqualTo(oldPid);
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
        .until(() -> Exporters.ended(oldPid));
    assertThat(clientData()).as("the promise: an empty COW store").isEqualTo(new byte[CLIENT_DATA.length]);
    List<Path> aside = movedAside();
    assertThat(aside).as("moved aside, never deleted").singleElement()
        .satisfies(p -> assertThat(dataAt(p)).isEqualTo(CLIENT_DATA));
    assertThat(Path.of(aside.get(0) + ".origin")).as("its stamp went with it").exists();
    assertThat(lab.events).contains("Warning " + SlotStatusWriter.ABANDONED_STORE_MOVED_ASIDE);
    assertThat(io.cowherd.agent.backend.OriginStamp.read(clone).orElseThrow().servedBy()).contains("uid-recreated");

    // Later reconciles of the same slot serve its own new store and never move it.
    try (RandomAccessFile f = new RandomAccessFile(clone.toFile(), "rw")) {
      f.seek(CLIENT_OFFSET_BYTES);
      f.write(CLIENT_DATA);
    }
    assertThat(reconcile(recreated).getPhase()).isEqualTo(SlotPhase.Serving);
    assertThat(clientData()).isEqualTo(CLIENT_DATA);
    assertThat(movedAside()).hasSize(1);

    // The store moved aside is unclaimed host state although a slot object of that number exists.
    HostNames names = new HostNames(lab.stateDir);
    UnclaimedStateReporter reporter = new UnclaimedStateReporter(names,
        new HostInventory(names, new VbladeProcesses(Path.of("/proc"), new Vblade("vblade"))),
        () -> Stream.of(recreated), namespace -> true, lab.client, "node-a", Clock.systemUTC(), new SimpleMeterRegistry());
    reporter.scan();
    assertThat(reporter.scan()).singleElement().satisfies(s -> assertThat(s.path()).isEqualTo(aside.get(0)));
  }

  @Test
  void aSlotNamingAnotherAbandonedObjectAdoptsTheStoreAsBefore() throws IOException {
    AoeBootSlot slot = servedSlotWithClientData();
    long pid = slot.getStatus().getExporterPid();
    AoeBootSlot recreated = newSlot();
    recreated.getMetadata().setUid("uid-recreated");
    recreated.getMetadata().setAnnotations(SlotReclaim.abandonment("uid-of-some-older-object"));

    AoeBootSlotStatus status = reconcile(recreated);

    assertThat(status.getPhase()).isEqualTo(SlotPhase.Serving);
    assertThat(status.getExporterPid()).isEqualTo(pid);
    assertThat(clientData()).isEqualTo(CLIENT_DATA);
    assertThat(movedAside()).isEmpty();
  }

  private List<Path> movedAside() throws IOException {
    try (Stream<Path> files = Files.list(clone.getParent())) {
      return files.filter(p -> p.getFileName().toString().startsWith("slot-2.img.abandoned-")
          && !p.getFileName().toString().endsWith(".origin")).toList();
    }
  }

  private static byte[] dataAt(Path file) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      byte[] read = new byte[CLIENT_DATA.length];
      f.seek(CLIENT_OFFSET_BYTES);
      f.readFully(read);
      return read;
    }
  }

  private AoeBootSlot newSlot() {
    return aSlot().shelf(9).slot(2).iface(lab.iface).image(origin.toString()).backend(CowBackend.REFLINK).build();
  }

  /** A slot served by a real exporter, with the client's data written into its clone. */
  private AoeBootSlot servedSlotWithClientData() throws IOException {
    AoeBootSlot slot = newSlot();
    assertThat(reconcile(slot).getPhase()).isEqualTo(SlotPhase.Serving);
    try (RandomAccessFile f = new RandomAccessFile(clone.toFile(), "rw")) {
      f.seek(CLIENT_OFFSET_BYTES);
      f.write(CLIENT_DATA);
      f.getFD().sync();
    }
    return slot;
  }

  private byte[] clientData() throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(clone.toFile(), "r")) {
      byte[] read = new byte[CLIENT_DATA.length];
      f.seek(CLIENT_OFFSET_BYTES);
      f.readFully(read);
      return read;
    }
  }

  private AoeBootSlotStatus reconcile(AoeBootSlot slot) {
    return lab.reconcile(slot);
  }

  private List<Long> exportersOfClone() {
    return new VbladeProcesses(Path.of("/proc"), new Vblade("vblade")).scan().stream()
        .filter(p -> p.target().path().equals(clone)).map(p -> p.pid()).toList();
  }
}
