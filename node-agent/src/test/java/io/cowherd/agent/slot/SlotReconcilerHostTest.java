package io.cowherd.agent.slot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.support.Exporters;
import io.cowherd.agent.support.ReflinkHostLab;
import io.cowherd.api.SlotReclaim;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.ReclaimPolicy;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.ExportSpec;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole agent path on this host, without an API server: reflink clone on a loop-mounted XFS,
 * a real vblade on a veth pair the test owns, status from the outcome, restart after SIGKILL, and
 * teardown on deletion. The status client points nowhere: Terminating writes fail and are logged.
 */
@Tag("host")
class SlotReconcilerHostTest {
  @TempDir Path tmp;
  private ReflinkHostLab lab;
  private Path origin;
  private SlotReconciler reconciler;

  @BeforeEach
  void setUp() throws IOException {
    lab = ReflinkHostLab.start(tmp, ReflinkHostLab.sparseOrigin(16 << 20, "origin boot sector".getBytes()));
    origin = lab.origin;
    reconciler = lab.agent.reconciler;
  }

  @AfterEach
  void cleanUp() throws IOException {
    if (lab != null) {
      lab.close();
    }
  }

  private AoeBootSlotStatus reconcile(AoeBootSlot slot) {
    UpdateControl<AoeBootSlot> control = reconciler.reconcile(slot, null);
    if (control.isPatchStatus()) {
      slot.setStatus(control.getResource().orElseThrow().getStatus());
    }
    return slot.getStatus();
  }

  @Test
  void reflinkSlotIsServedRestartedAndTornDown() throws IOException {
    AoeBootSlot slot = aSlot().shelf(9).slot(3).iface(lab.iface).image(origin.toString()).backend(CowBackend.REFLINK).build();
    Path clone = lab.stateDir.resolve("lab/debian/slot-3.img");

    AoeBootSlotStatus s = reconcile(slot);
    assertThat(s.getPhase()).isEqualTo(SlotPhase.Serving);
    assertThat(s.getTarget()).isEqualTo("e9.3");
    assertThat(s.getBackend()).isEqualTo("reflink");
    assertThat(s.getCowStorePath()).isEqualTo(clone.toString());
    assertThat(s.getExportPath()).isEqualTo(clone.toString());
    assertThat(s.getSizeSectors()).isEqualTo(32768);
    assertThat(s.getCowTotalSectors()).isEqualTo(32768);
    assertThat(s.getCowUsedSectors()).isZero();
    assertThat(s.getRestarts()).isZero();
    assertThat(s.getObservedGeneration()).isEqualTo(1);
    assertThat(s.getOriginLoop()).isNull();
    assertThat(s.getGuard()).as("ingress guard installed before the exporter").startsWith("on: nftables netdev table cowherd_" + lab.iface);
    long pid = s.getExporterPid();
    assertThat(ProcessHandle.of(pid).orElseThrow().info().arguments().orElseThrow())
        .containsExactly("-s", "--", "9", "3", lab.iface, clone.toString());
    assertThat(lab.events).containsExactly("Normal Serving");

    assertThat(reconciler.reconcile(slot, null).isNoUpdate()).as("steady state writes nothing").isTrue();

    ProcessHandle.of(pid).orElseThrow().destroyForcibly();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      AoeBootSlotStatus now = reconcile(slot);
      assertThat(now.getPhase()).isEqualTo(SlotPhase.Serving);
      assertThat(now.getRestarts()).isEqualTo(1);
      assertThat(now.getLastExitCode()).as("exporters are not the agent's children: exit code unknown").isNull();
      assertThat(now.getExporterPid()).isNotEqualTo(pid);
    });

    long durablePid = slot.getStatus().getExporterPid();
    slot.getSpec().setExport(new ExportSpec(true));
    AoeBootSlotStatus cached = reconcile(slot);
    assertThat(cached.getPhase()).isEqualTo(SlotPhase.Serving);
    assertThat(cached.getExporterPid()).as("writeCache changed: exporter replaced").isNotEqualTo(durablePid);
    assertThat(ProcessHandle.of(cached.getExporterPid()).orElseThrow().info().arguments().orElseThrow())
        .containsExactly("--", "9", "3", lab.iface, clone.toString());
    assertThat(Exporters.ended(durablePid)).isTrue();

    slot.getMetadata().setAnnotations(SlotReclaim.mark(ReclaimPolicy.Delete)); // scale-down under Delete
    assertThat(reconciler.cleanup(slot, null).isRemoveFinalizer()).isTrue();
    assertThat(clone).doesNotExist();
    assertThat(lab.stateDir.resolve("lab")).doesNotExist();
    assertThat(origin).exists();
    assertThat(new VbladeProcesses(Path.of("/proc"), new Vblade("vblade")).scan())
        .noneMatch(p -> p.target().path().equals(clone));
  }

  /**
   * A client MAC on one slot's spec restarts only that slot's exporter, now with {@code -m <client>,<own>};
   * the next reconcile adopts it (vblade shows its -m list split at the commas in /proc) instead
   * of restarting it again; removing the MAC restarts it without {@code -m}.
   */
  @Test
  void aClientMacOnOneSlotRestartsOnlyThatExporterWithTheMacList() throws IOException {
    AoeBootSlot bound = aSlot().shelf(9).slot(4).iface(lab.iface).image(origin.toString()).backend(CowBackend.REFLINK).build();
    AoeBootSlot other = aSlot().shelf(9).slot(5).iface(lab.iface).image(origin.toString()).backend(CowBackend.REFLINK).build();
    assertThat(reconcile(bound).getPhase()).isEqualTo(SlotPhase.Serving);
    assertThat(reconcile(other).getPhase()).isEqualTo(SlotPhase.Serving);
    long boundPid = bound.getStatus().getExporterPid();
    long otherPid = other.getStatus().getExporterPid();
    String ownMac = java.nio.file.Files.readString(Path.of("/sys/class/net", lab.iface, "address")).strip();

    bound.getSpec().setAllowedMacs(java.util.List.of("52:54:00:AB:CD:01"));
    AoeBootSlotStatus now = reconcile(bound);
    assertThat(now.getPhase()).isEqualTo(SlotPhase.Serving);
    assertThat(now.getExporterPid()).as("MAC list changed: exporter replaced").isNotEqualTo(boundPid);
    assertThat(ProcessHandle.of(now.getExporterPid()).orElseThrow().info().arguments().orElseThrow())
        .as("vblade writes NUL over the commas of its -m argument").containsSubsequence("-m", "52:54:00:ab:cd:01", ownMac, "--");
    assertThat(reconcile(other).getExporterPid()).as("the other slot's exporter is untouched").isEqualTo(otherPid);
    long bindPid = now.getExporterPid();
    assertThat(reconciler.reconcile(bound, null).isNoUpdate()).as("a bound exporter is adopted, not restarted").isTrue();
    assertThat(ProcessHandle.of(bindPid).map(ProcessHandle::isAlive).orElse(false)).isTrue();

    bound.getSpec().setAllowedMacs(java.util.List.of());
    AoeBootSlotStatus unbound = reconcile(bound);
    assertThat(unbound.getExporterPid()).isNotEqualTo(bindPid);
    assertThat(ProcessHandle.of(unbound.getExporterPid()).orElseThrow().info().arguments().orElseThrow())
        .doesNotContain("-m");
    assertThat(reconcile(other).getExporterPid()).isEqualTo(otherPid);
  }
}
