package io.cowherd.agent.slot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.backend.BackendUnavailableException;
import io.cowherd.agent.backend.TeardownIncompleteException;
import io.cowherd.agent.export.SegmentScanException;
import io.cowherd.agent.host.CommandFailedException;
import io.cowherd.agent.host.HostCommand;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SlotStatusWriterTest {
  private final List<String> events = new ArrayList<>();
  private final SlotStatusWriter writer = new SlotStatusWriter((slot, type, reason, message) -> events.add(type + " " + reason), null);

  @Test
  void classifiesSpecAndNodeProblemsAsFailedWithoutRetry() {
    assertThat(SlotStatusWriter.classify(new InvalidSlotException("bad"))).isEqualTo(
        new SlotStatusWriter.ErrorVerdict(SlotPhase.Failed, "InvalidSpec", "bad", false));
    assertThat(SlotStatusWriter.classify(new BackendUnavailableException("no dm")).retry()).isFalse();
  }

  @Test
  void classifiesHostCommandFailuresAsRetryable() {
    CommandFailedException e = new CommandFailedException(HostCommand.of("losetup", "--find"), 1, "no free loop", Duration.ZERO);
    SlotStatusWriter.ErrorVerdict v = SlotStatusWriter.classify(new RuntimeException("wrapped", e));
    assertThat(v.reason()).isEqualTo("CommandFailed");
    assertThat(v.retry()).isTrue();
    assertThat(SlotStatusWriter.classify(new TeardownIncompleteException("busy")).phase()).isEqualTo(SlotPhase.Terminating);
  }

  @Test
  void classifiesTheNewFailuresOfThisAgent() {
    assertThat(SlotStatusWriter.classify(new UnmanagedSlotException("not managed by pool debian")))
        .isEqualTo(new SlotStatusWriter.ErrorVerdict(SlotPhase.Failed, "NotManagedByPool", "not managed by pool debian", false));
    assertThat(SlotStatusWriter.classify(new SegmentScanException("cannot check eth1", new java.io.IOException("x"))))
        .isEqualTo(new SlotStatusWriter.ErrorVerdict(SlotPhase.Failed, "SegmentCheckFailed", "cannot check eth1", true));
    CommandFailedException full = new CommandFailedException(HostCommand.of("setpriv", "--pdeathsig", "KILL", "--", "cp"), 1,
        "cp: failed to clone 'a.img.partial' from 'a.img': No space left on device", Duration.ZERO);
    assertThat(SlotStatusWriter.classify(full).reason()).isEqualTo("StateDirFull");
  }

  @Test
  void errorStatusKeepsHostFieldsAndIsPatchedOnceWithOneEvent() {
    AoeBootSlot slot = aSlot().generation(3).build();
    AoeBootSlotStatus old = new AoeBootSlotStatus();
    old.setPhase(SlotPhase.Serving);
    old.setExporterPid(42L);
    old.setCowStorePath("/var/lib/cowherd/lab/debian/slot-0.cow");
    slot.setStatus(old);

    ErrorStatusUpdateControl<AoeBootSlot> first = writer.updateErrorStatus(slot, new InvalidSlotException("image /x.img is not under an allowed image root"));
    AoeBootSlotStatus written = first.getResource().orElseThrow().getStatus();
    assertThat(written.getPhase()).isEqualTo(SlotPhase.Failed);
    assertThat(written.getMessage()).isEqualTo("image /x.img is not under an allowed image root");
    assertThat(written.getObservedGeneration()).isEqualTo(3);
    assertThat(written.getTarget()).isEqualTo("e7.0");
    assertThat(written.getExporterPid()).isEqualTo(42L);
    assertThat(written.getCowStorePath()).isEqualTo("/var/lib/cowherd/lab/debian/slot-0.cow");
    assertThat(first.isNoRetry()).isTrue();
    assertThat(first.getResource().orElseThrow().getMetadata().getResourceVersion()).isNull();
    assertThat(first.getResource().orElseThrow().getSpec()).isNull();

    slot.setStatus(written);
    ErrorStatusUpdateControl<AoeBootSlot> second = writer.updateErrorStatus(slot, new InvalidSlotException("image /x.img is not under an allowed image root"));
    assertThat(second.getResource()).isEmpty();
    assertThat(events).containsExactly("Warning InvalidSpec");
  }

  @Test
  void errorStatusNeverCarriesTheOperatorsLivenessConditionAndIgnoresItWhenComparing() {
    AoeBootSlot slot = aSlot().generation(3).build();
    AoeBootSlotStatus old = new AoeBootSlotStatus();
    old.setPhase(SlotPhase.Serving);
    old.setExporterPid(42L);
    slot.setStatus(old);
    AoeBootSlotStatus failed = writer.updateErrorStatus(slot, new InvalidSlotException("interface eth1 does not exist"))
        .getResource().orElseThrow().getStatus();
    failed.setConditions(List.of(new ConditionBuilder().withType("AgentAlive").withStatus("Unknown")
        .withReason("AgentSilent").withMessage("silent").build()));
    slot.setStatus(failed);

    ErrorStatusUpdateControl<AoeBootSlot> again = writer.updateErrorStatus(slot, new InvalidSlotException("interface eth1 does not exist"));
    ErrorStatusUpdateControl<AoeBootSlot> other = writer.updateErrorStatus(slot, new InvalidSlotException("image gone"));

    assertThat(again.getResource()).as("only the operator's condition differs: no write").isEmpty();
    AoeBootSlotStatus written = other.getResource().orElseThrow().getStatus();
    assertThat(written.getMessage()).isEqualTo("image gone");
    assertThat(written.getConditions()).as("the agent's patch never carries (and so never owns) conditions").isNull();
    assertThat(slot.getStatus().getConditions()).hasSize(1);
  }

  @Test
  void anUnexpectedExceptionIsShownInStatusAndRetried() {
    AoeBootSlot slot = aSlot().build();
    NullPointerException injected = new NullPointerException("Cannot invoke \"java.nio.file.Path.toString()\"");

    ErrorStatusUpdateControl<AoeBootSlot> control = writer.updateErrorStatus(slot, injected);

    AoeBootSlotStatus written = control.getResource().orElseThrow().getStatus();
    assertThat(written.getPhase()).isEqualTo(SlotPhase.Failed);
    assertThat(written.getMessage()).contains("NullPointerException").contains("Path.toString()");
    assertThat(control.isNoRetry()).as("JOSDK retries it, then the 60 s reconcile does").isFalse();
    assertThat(events).containsExactly("Warning InternalError");
  }

  @Test
  void insufficientSpaceIsAFailureRecheckedLater() {
    SlotStatusWriter.ErrorVerdict v = SlotStatusWriter.classify(
        new io.cowherd.agent.backend.InsufficientSpaceException("COW file /s/slot-0.cow of slot lab/debian/0", 100, 10));
    assertThat(v.reason()).isEqualTo("InsufficientSpace");
    assertThat(v.phase()).isEqualTo(SlotPhase.Failed);
    assertThat(v.message()).contains("needs 100 bytes reserved", "can give 10 bytes");
    assertThat(v.retry()).isFalse();
  }

  @Test
  void cowAndStateDirWarningsAreRaisedOncePerLevelOnTheWayUp() {
    AoeBootSlot slot = aSlot().build();
    warn(slot, 790, 1000, 50);   // 79%, state dir 50%: nothing
    warn(slot, 800, 1000, 80);   // 80%: COW HIGH, state dir HIGH
    warn(slot, 900, 1000, 90);   // still HIGH: nothing new
    warn(slot, 950, 1000, 96);   // 95%: COW CRITICAL, state dir CRITICAL
    warn(slot, 960, 1000, 97);   // nothing new
    assertThat(events).containsExactly("Warning CowStoreFilling", "Warning StateDirFilling",
        "Warning CowStoreFilling", "Warning StateDirFilling");
  }

  private void warn(AoeBootSlot slot, long usedSectors, long totalSectors, int stateDirPercentUsed) {
    long total = 1000L << 20;
    io.cowherd.agent.inventory.StateDirSpace.Report r = new io.cowherd.agent.inventory.StateDirSpace.Report(
        java.nio.file.Path.of("/var/lib/cowherd"), total - total * stateDirPercentUsed / 100, total);
    SlotObservation seen = new SlotObservation(null, null, java.util.Optional.empty(), java.util.Optional.empty(), null,
        java.util.Optional.empty(), java.util.Optional.empty(), java.util.Optional.empty(), java.util.Optional.empty(),
        io.cowherd.agent.host.NetLinks.State.UP, java.util.Optional.of(r));
    writer.warnAboutSpace(slot, seen, new SlotOutcome(java.util.Optional.empty(),
        java.util.Optional.of(new io.cowherd.agent.backend.CowUsage.Sectors(usedSectors, totalSectors)),
        java.util.Optional.empty()));
  }

  @Test
  void agentFieldsCompareWithoutTheOperatorsConditionsAndLeaveBothUnchanged() {
    io.cowherd.api.v1alpha1.AoeBootSlotStatus seen = new io.cowherd.api.v1alpha1.AoeBootSlotStatus();
    seen.setPhase(SlotPhase.Serving);
    seen.setMessage("serving");
    io.fabric8.kubernetes.api.model.Condition alive = new io.fabric8.kubernetes.api.model.ConditionBuilder()
        .withType("AgentAlive").withStatus("Unknown").build();
    seen.setConditions(new java.util.ArrayList<>(java.util.List.of(alive)));
    io.cowherd.api.v1alpha1.AoeBootSlotStatus ours = new io.cowherd.api.v1alpha1.AoeBootSlotStatus();
    ours.setPhase(SlotPhase.Serving);
    ours.setMessage("serving");

    assertThat(SlotStatusWriter.sameAgentFields(ours, seen)).isTrue();
    assertThat(ours.getConditions()).as("ours keeps no conditions").isNullOrEmpty();
    assertThat(seen.getConditions()).containsExactly(alive);
    ours.setMessage("restarting");
    assertThat(SlotStatusWriter.sameAgentFields(ours, seen)).isFalse();
    assertThat(SlotStatusWriter.sameAgentFields(ours, null)).isFalse();
  }
}
