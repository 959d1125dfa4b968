package io.cowherd.agent.slot;

import static io.cowherd.agent.slot.SlotPlan.Step.ENSURE_EXPORTER;
import static io.cowherd.agent.slot.SlotPlan.Step.PROVISION_COW_STORE;
import static io.cowherd.agent.slot.SlotPlan.Step.STOP_EXPORTER;
import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.backend.CowRequest;
import io.cowherd.agent.backend.CowStore;
import io.cowherd.agent.backend.CowUsage;
import io.cowherd.agent.backend.OriginIdentity;
import io.cowherd.agent.backend.OriginStamp;
import io.cowherd.agent.export.DuplicateExporter;
import io.cowherd.agent.export.ExporterState;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.aoe.frame.MacAddress;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Every combination of spec (backend) × what exists (store, exporter, blockers). */
class SlotPlanTest {
  private static final SlotId ID = new SlotId("lab", "debian", 3);
  private static final Path ORIGIN = Path.of("/images/debian.img");

  enum Store { ABSENT, PRESENT }

  /** RUNNING_WRITE_CACHE: our target, but started with the write cache the spec no longer asks for. */
  enum Exporter { NONE, RUNNING_WANTED, RUNNING_OLD_TARGET, RUNNING_WRITE_CACHE, BACKING_OFF_WANTED, CONFLICT_RECORDED,
    DUPLICATE_RECORDED,
    /** Known to the supervisor, but neither running nor due for a restart (a start that failed half way). */
    STRANDED_WANTED }

  static Stream<Arguments> combinations() {
    List<Arguments> rows = new ArrayList<>();
    for (CowBackend backend : CowBackend.values()) {
      rows.add(Arguments.of(backend, Store.ABSENT, Exporter.NONE, List.of(PROVISION_COW_STORE, ENSURE_EXPORTER)));
      rows.add(Arguments.of(backend, Store.ABSENT, Exporter.RUNNING_WANTED, List.of(PROVISION_COW_STORE, STOP_EXPORTER, ENSURE_EXPORTER)));
      rows.add(Arguments.of(backend, Store.ABSENT, Exporter.RUNNING_OLD_TARGET, List.of(PROVISION_COW_STORE, STOP_EXPORTER, ENSURE_EXPORTER)));
      rows.add(Arguments.of(backend, Store.ABSENT, Exporter.RUNNING_WRITE_CACHE, List.of(PROVISION_COW_STORE, STOP_EXPORTER, ENSURE_EXPORTER)));
      rows.add(Arguments.of(backend, Store.ABSENT, Exporter.BACKING_OFF_WANTED, List.of(PROVISION_COW_STORE)));
      rows.add(Arguments.of(backend, Store.ABSENT, Exporter.CONFLICT_RECORDED, List.of(PROVISION_COW_STORE, ENSURE_EXPORTER)));
      rows.add(Arguments.of(backend, Store.ABSENT, Exporter.DUPLICATE_RECORDED, List.of(PROVISION_COW_STORE, ENSURE_EXPORTER)));
      rows.add(Arguments.of(backend, Store.ABSENT, Exporter.STRANDED_WANTED, List.of(PROVISION_COW_STORE, ENSURE_EXPORTER)));
      rows.add(Arguments.of(backend, Store.PRESENT, Exporter.NONE, List.of(ENSURE_EXPORTER)));
      rows.add(Arguments.of(backend, Store.PRESENT, Exporter.RUNNING_WANTED, List.of()));
      rows.add(Arguments.of(backend, Store.PRESENT, Exporter.RUNNING_OLD_TARGET, List.of(ENSURE_EXPORTER)));
      rows.add(Arguments.of(backend, Store.PRESENT, Exporter.RUNNING_WRITE_CACHE, List.of(ENSURE_EXPORTER)));
      rows.add(Arguments.of(backend, Store.PRESENT, Exporter.BACKING_OFF_WANTED, List.of()));
      rows.add(Arguments.of(backend, Store.PRESENT, Exporter.CONFLICT_RECORDED, List.of(ENSURE_EXPORTER)));
      rows.add(Arguments.of(backend, Store.PRESENT, Exporter.DUPLICATE_RECORDED, List.of(ENSURE_EXPORTER)));
      rows.add(Arguments.of(backend, Store.PRESENT, Exporter.STRANDED_WANTED, List.of(ENSURE_EXPORTER)));
    }
    return rows.stream();
  }

  @ParameterizedTest(name = "{0}, store {1}, exporter {2} -> {3}")
  @MethodSource("combinations")
  void decideBuildsOnlyWhatIsMissing(CowBackend backend, Store store, Exporter exporter, List<SlotPlan.Step> expected) {
    SlotPlan plan = SlotPlan.decide(observation(backend, store, exporter, Optional.empty(), Optional.empty()));
    assertThat(plan.steps()).containsExactlyElementsOf(expected);
    assertThat(plan.blockedBecause()).isEmpty();
  }

  @ParameterizedTest(name = "{0}: a foreign exporter of the target blocks everything and stops ours")
  @EnumSource(CowBackend.class)
  void foreignExporterBlocksEveryCombination(CowBackend backend) {
    VbladeProcess foreign = new VbladeProcess(4242, new VbladeTarget(7, 3, "eth1", Path.of("/srv/other.img")), List.of());
    for (Store store : Store.values()) {
      for (Exporter exporter : Exporter.values()) {
        SlotPlan plan = SlotPlan.decide(observation(backend, store, exporter, Optional.of(foreign), Optional.empty()));
        assertThat(plan.steps()).as("%s %s", store, exporter).isEqualTo(running(exporter) ? List.of(STOP_EXPORTER) : List.of());
        assertThat(plan.blockedBecause().orElseThrow().message())
            .contains("e7.3", "eth1", "pid 4242", "/srv/other.img", "not starting a second exporter");
        SlotPlan.Verdict v = SlotPlan.judge(plan, outcome(Optional.empty(), Optional.empty()));
        assertThat(v.phase()).isEqualTo(SlotPhase.Failed);
        assertThat(v.heldByAnotherExporter()).as("looked at again soon (SlotReconciler.HELD_RECHECK)").isTrue();
      }
    }
  }

  @ParameterizedTest(name = "{0}: a store of the other backend blocks everything")
  @EnumSource(CowBackend.class)
  void storeOfTheOtherBackendBlocksEveryCombination(CowBackend backend) {
    Path other = Path.of("/var/lib/cowherd/lab/debian/slot-3.other");
    for (Store store : Store.values()) {
      for (Exporter exporter : Exporter.values()) {
        SlotPlan plan = SlotPlan.decide(observation(backend, store, exporter, Optional.empty(), Optional.of(other)));
        assertThat(plan.steps()).isEmpty();
        assertThat(plan.blockedBecause().orElseThrow().reason()).isEqualTo("BackendChanged");
      }
    }
  }

  @ParameterizedTest
  @EnumSource(CowBackend.class)
  void judgeReportsServingWhileTheExporterRuns(CowBackend backend) {
    SlotPlan plan = new SlotPlan(List.of(), Optional.empty());
    SlotPlan.Verdict v = SlotPlan.judge(plan, outcome(Optional.of(store(backend)), Optional.of(running(wanted(backend)))));
    assertThat(v.phase()).isEqualTo(SlotPhase.Serving);
    assertThat(v.message()).contains("e7.3", "pid 100");
  }

  @ParameterizedTest
  @EnumSource(CowBackend.class)
  void judgeReportsRestartingThenFailingAfterThreeQuickExits(CowBackend backend) {
    SlotPlan plan = new SlotPlan(List.of(), Optional.empty());
    ExporterState once = new ExporterState(wanted(backend), null, false, 1, 1, "eth1: No such device", 1, Instant.EPOCH, null, null);
    ExporterState thrice = new ExporterState(wanted(backend), null, false, 3, 1, "eth1: No such device", 3, Instant.EPOCH, null, null);
    SlotPlan.Verdict v1 = SlotPlan.judge(plan, outcome(Optional.of(store(backend)), Optional.of(once)));
    SlotPlan.Verdict v3 = SlotPlan.judge(plan, outcome(Optional.of(store(backend)), Optional.of(thrice)));
    assertThat(v1.phase()).isEqualTo(SlotPhase.Provisioning);
    assertThat(v1.message()).contains("code 1", "eth1: No such device");
    assertThat(v3.phase()).isEqualTo(SlotPhase.Failed);
    assertThat(v3.reason()).isEqualTo("ExporterFailing");
  }

  @ParameterizedTest
  @EnumSource(CowBackend.class)
  void judgeReportsABrokenSnapshotAsFailed(CowBackend backend) {
    SlotOutcome done = new SlotOutcome(Optional.of(store(backend)), Optional.of(new CowUsage.Broken("dm snapshot x is Invalid")),
        Optional.of(running(wanted(backend))));
    SlotPlan.Verdict v = SlotPlan.judge(new SlotPlan(List.of(), Optional.empty()), done);
    assertThat(v.phase()).isEqualTo(SlotPhase.Failed);
    assertThat(v.message()).startsWith("dm snapshot x is Invalid");
    assertThat(v.reason()).isEqualTo("CowStoreBroken");
  }

  @ParameterizedTest
  @EnumSource(CowBackend.class)
  void judgeReportsAFullPoSnapshotAsFailedButReadable(CowBackend backend) {
    SlotOutcome done = new SlotOutcome(Optional.of(store(backend)), Optional.of(new CowUsage.Broken("dm snapshot x is Overflow")),
        Optional.of(running(wanted(backend))));
    SlotPlan.Verdict v = SlotPlan.judge(new SlotPlan(List.of(), Optional.empty()), done);
    assertThat(v.phase()).isEqualTo(SlotPhase.Failed);
    assertThat(v.reason()).isEqualTo("CowStoreFull");
    assertThat(v.message()).startsWith("dm snapshot x is Overflow").contains("stays readable");
  }

  @ParameterizedTest
  @EnumSource(CowBackend.class)
  void judgeReportsAConflictFoundAtStartAsFailed(CowBackend backend) {
    VbladeProcess other = new VbladeProcess(77, new VbladeTarget(7, 3, "eth1", Path.of("/x")), List.of("-r"));
    ExporterState s = new ExporterState(wanted(backend), null, false, 0, null, null, 0, null, other, null);
    SlotPlan.Verdict v = SlotPlan.judge(new SlotPlan(List.of(), Optional.empty()), outcome(Optional.of(store(backend)), Optional.of(s)));
    assertThat(v.phase()).isEqualTo(SlotPhase.Failed);
    assertThat(v.message()).contains("pid 77", "[-r]");
  }

  @ParameterizedTest(name = "{0}: another MAC answering for the target refuses ours, and stops it if running")
  @EnumSource(CowBackend.class)
  void duplicateOnTheWireBlocksEveryCombinationAndStopsOurs(CowBackend backend) {
    DuplicateExporter dup = new DuplicateExporter("e7.3", "eth1", List.of(MacAddress.parse("02:aa:bb:cc:dd:ee")));
    for (Store store : Store.values()) {
      for (Exporter exporter : Exporter.values()) {
        SlotObservation seen = observation(backend, store, exporter, Optional.empty(), Optional.empty());
        SlotPlan plan = SlotPlan.decide(with(seen, Optional.of(dup), Optional.empty()));
        assertThat(plan.steps()).as("%s %s", store, exporter)
            .isEqualTo(running(exporter) ? List.of(STOP_EXPORTER) : List.of());
        SlotPlan.Verdict v = SlotPlan.judge(plan, outcome(Optional.empty(), Optional.empty()));
        assertThat(v.phase()).isEqualTo(SlotPhase.Failed);
        assertThat(v.reason()).isEqualTo("DuplicateExporter");
        assertThat(v.heldByAnotherExporter()).as("looked at again soon (SlotReconciler.HELD_RECHECK)").isTrue();
        assertThat(v.message()).isEqualTo(
            "another exporter of e7.3 answers from MAC 02:aa:bb:cc:dd:ee on eth1; refusing to export a duplicate");
      }
    }
  }

  @ParameterizedTest
  @EnumSource(CowBackend.class)
  void judgeReportsADuplicateFoundAtStartAsFailed(CowBackend backend) {
    DuplicateExporter dup = new DuplicateExporter("e7.3", "eth1", List.of(MacAddress.parse("02:aa:bb:cc:dd:ee")));
    ExporterState s = new ExporterState(wanted(backend), null, false, 0, null, null, 0, null, null, dup);
    SlotPlan.Verdict v = SlotPlan.judge(new SlotPlan(List.of(), Optional.empty()), outcome(Optional.of(store(backend)), Optional.of(s)));
    assertThat(v.phase()).isEqualTo(SlotPhase.Failed);
    assertThat(v.message()).isEqualTo(dup.message());
  }

  @ParameterizedTest(name = "{0}: a full state dir fails the slot but keeps serving and deletes nothing")
  @EnumSource(CowBackend.class)
  void fullStateDirFailsTheSlotButKeepsItsExporter(CowBackend backend) {
    String full = "state dir /var/lib/cowherd filesystem is full (4096 bytes free): client writes fail";
    SlotObservation seen = with(observation(backend, Store.PRESENT, Exporter.RUNNING_WANTED, Optional.empty(),
        Optional.empty()), Optional.empty(), Optional.of(full));
    SlotPlan plan = SlotPlan.decide(seen);
    assertThat(plan.steps()).isEmpty();
    assertThat(plan.blockedBecause()).isEmpty();
    SlotPlan.Verdict v = SlotPlan.judge(plan, outcome(Optional.of(store(backend)), Optional.of(running(wanted(backend)))));
    assertThat(v.phase()).isEqualTo(SlotPhase.Failed);
    assertThat(v.reason()).isEqualTo("StateDirFull");
    assertThat(v.message()).isEqualTo(full);

    SlotPlan recovered = SlotPlan.decide(with(seen, Optional.empty(), Optional.empty()));
    assertThat(SlotPlan.judge(recovered, outcome(Optional.of(store(backend)), Optional.of(running(wanted(backend)))))
        .phase()).isEqualTo(SlotPhase.Serving);
  }

  @ParameterizedTest
  @EnumSource(CowBackend.class)
  void fullStateDirStillLetsAMissingExporterStart(CowBackend backend) {
    SlotObservation seen = with(observation(backend, Store.PRESENT, Exporter.NONE, Optional.empty(), Optional.empty()),
        Optional.empty(), Optional.of("full"));
    assertThat(SlotPlan.decide(seen).steps()).containsExactly(ENSURE_EXPORTER);
  }

  @ParameterizedTest
  @EnumSource(CowBackend.class)
  void anOriginChangedUnderTheStoreStopsDmSnapshotAndKeepsReflinkServing(CowBackend backend) {
    SlotObservation o = observation(backend, Store.PRESENT, Exporter.RUNNING_WANTED, Optional.empty(), Optional.empty());
    OriginIdentity made = new OriginIdentity(1, 10, 1 << 20, 5_000_000_000L);
    OriginIdentity now = new OriginIdentity(1, 10, 1 << 20, 6_000_000_000L);
    SlotObservation seen = new SlotObservation(o.slot(), o.request(), o.store(), o.otherBackendStore(), o.wanted(),
        o.exporter(), o.foreignExporter(), o.duplicate(), o.stateDirFull(), o.link(), o.stateDir(),
        Optional.of(new OriginStamp.Verdict(ORIGIN, Optional.of(made), now, made.change(now))));
    SlotPlan plan = SlotPlan.decide(seen);
    SlotOutcome done = outcome(o.store(), o.exporter());
    if (backend == CowBackend.DM_SNAPSHOT) {
      assertThat(plan.steps()).containsExactly(STOP_EXPORTER); // never PROVISION: nothing is rebuilt or deleted
      assertThat(plan.blockedBecause()).get().extracting(SlotPlan.Blocked::reason).isEqualTo(SlotPlan.ORIGIN_CHANGED);
      SlotPlan.Verdict v = SlotPlan.judge(plan, done);
      assertThat(v.phase()).isEqualTo(SlotPhase.Failed);
      assertThat(v.message()).contains("changed in place").contains("exporter is stopped")
          .contains("/var/lib/cowherd/lab/debian/slot-3.cow");
      SlotObservation stopped = new SlotObservation(o.slot(), o.request(), o.store(), o.otherBackendStore(),
          o.wanted(), Optional.empty(), o.foreignExporter(), o.duplicate(), o.stateDirFull(), o.link(), o.stateDir(),
          seen.origin());
      assertThat(SlotPlan.decide(stopped).steps()).isEmpty(); // stays stopped
    } else {
      assertThat(plan.steps()).isEmpty();
      assertThat(plan.blockedBecause()).isEmpty();
      assertThat(SlotPlan.judge(plan, done).phase()).isEqualTo(SlotPhase.Serving);
    }
  }

  private static SlotObservation with(SlotObservation o, Optional<DuplicateExporter> dup, Optional<String> full) {
    return new SlotObservation(o.slot(), o.request(), o.store(), o.otherBackendStore(), o.wanted(), o.exporter(),
        o.foreignExporter(), dup, full, o.link(), o.stateDir());
  }

  private static SlotObservation observation(CowBackend backend, Store store, Exporter exporter,
      Optional<VbladeProcess> foreign, Optional<Path> otherStore) {
    ValidatedSlot slot = observationSlot(backend);
    VbladeTarget wanted = wanted(backend);
    Optional<ExporterState> ex = switch (exporter) {
      case NONE -> Optional.empty();
      case RUNNING_WANTED -> Optional.of(running(wanted));
      case RUNNING_OLD_TARGET -> Optional.of(running(new VbladeTarget(7, 3, "eth0", wanted.path())));
      case RUNNING_WRITE_CACHE -> Optional.of(running(new VbladeTarget(7, 3, "eth1", wanted.path(), true)));
      case BACKING_OFF_WANTED -> Optional.of(new ExporterState(wanted, null, false, 1, 1, "x", 1, Instant.EPOCH, null, null));
      case CONFLICT_RECORDED -> Optional.of(new ExporterState(wanted, null, false, 0, null, null, 0, null,
          new VbladeProcess(9, new VbladeTarget(7, 3, "eth1", Path.of("/gone")), List.of()), null));
      case DUPLICATE_RECORDED -> Optional.of(new ExporterState(wanted, null, false, 0, null, null, 0, null, null,
          new DuplicateExporter("e7.3", "eth1", List.of(MacAddress.parse("02:aa:bb:cc:dd:ee")))));
      case STRANDED_WANTED -> Optional.of(new ExporterState(wanted, null, false, 0, null, "restart failed", 0, null, null,
          null));
    };
    return new SlotObservation(slot, new CowRequest(ID, ORIGIN, 1 << 20, 64),
        store == Store.PRESENT ? Optional.of(store(backend)) : Optional.empty(), otherStore, wanted, ex, foreign);
  }

  private static boolean running(Exporter exporter) {
    return exporter == Exporter.RUNNING_WANTED || exporter == Exporter.RUNNING_OLD_TARGET
        || exporter == Exporter.RUNNING_WRITE_CACHE;
  }

  private static VbladeTarget wanted(CowBackend backend) {
    return observationSlot(backend).target(store(backend).exportPath());
  }

  private static ValidatedSlot observationSlot(CowBackend backend) {
    return new ValidatedSlot(ID, 7, "eth1", ORIGIN, 1 << 20, backend, 64, false);
  }

  private static CowStore store(CowBackend backend) {
    return backend == CowBackend.REFLINK
        ? CowStore.clone(Path.of("/var/lib/cowherd/lab/debian/slot-3.img"))
        : new CowStore(Path.of("/dev/mapper/cowherd-lab-debian-3"), Path.of("/var/lib/cowherd/lab/debian/slot-3.cow"),
            "/dev/loop0", "/dev/loop1", "cowherd-lab-debian-3");
  }

  private static ExporterState running(VbladeTarget t) {
    return new ExporterState(t, 100L, false, 0, null, null, 0, null, null, null);
  }

  private static SlotOutcome outcome(Optional<CowStore> store, Optional<ExporterState> ex) {
    return new SlotOutcome(store, store.map(s -> new CowUsage.Sectors(0, 2048)), ex);
  }
}
