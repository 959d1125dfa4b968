package io.cowherd.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.e2e.support.Exporters;
import io.cowherd.e2e.support.Lab;
import io.cowherd.e2e.support.Listeners;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A dead node agent is visible: the real agent renews its heartbeat Lease (defaults: every 10 s,
 * duration 40 s); killed with SIGKILL, its slots get AgentAlive=Unknown (reason AgentSilent) from
 * the operator within the lease duration (counted from the kill, or from a renewal the API server
 * delivered after it, to the condition's lastTransitionTime) while the exporters keep serving and
 * the agent's status fields stay; restarted, it renews again and the condition goes. Every
 * listener of the lab's processes is on loopback.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AgentLivenessE2E {
  private static final String NS = "default";
  private static final String POOL = "live";
  private static final int SHELF = 8;

  private Lab lab;

  @BeforeAll
  void startLab() {
    lab = Lab.start(Path.of("target", "e2e-agent-liveness"), 16);
  }

  @AfterAll
  void stopLab() {
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  void killedAgentShowsOnItsSlotsWithinTheLeaseDurationAndClearsWhenItIsBack() {
    lab.controlPlane().kubectlOk("apply", "-f", lab.writePoolYaml(POOL, SHELF, 2).toString());
    await().atMost(Duration.ofSeconds(90)).ignoreExceptions().untilAsserted(() -> assertThat(slots()).hasSize(2)
        .allSatisfy(s -> {
          assertThat(s.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
          assertThat(condition(s)).isEmpty();
        }));
    Lease lease = lab.controlPlane().client().leases().inNamespace(Lab.LEASE_NAMESPACE)
        .withName(Names.agentLeaseName(Lab.NODE)).get();
    assertThat(lease.getSpec().getHolderIdentity()).isEqualTo(Lab.NODE);
    assertThat(lease.getSpec().getLeaseDurationSeconds()).isEqualTo(40);
    List<Listeners.Listener> listeners = Listeners.ofDescendants();
    System.out.println("[listeners] " + listeners);
    assertThat(listeners).allSatisfy(l -> assertThat(l.loopback()).as("%s listens on loopback only", l).isTrue());

    // When this test saw each renewal (a new renewTime; the watch's first event is the Lease as it is).
    List<Instant> renewalsSeen = new CopyOnWriteArrayList<>();
    AtomicReference<Object> lastRenewTime = new AtomicReference<>();
    Watch leaseWatch = lab.controlPlane().client().leases().inNamespace(Lab.LEASE_NAMESPACE)
        .withName(Names.agentLeaseName(Lab.NODE)).watch(new Watcher<>() {
          @Override
          public void eventReceived(Action action, Lease l) {
            Object renewTime = l.getSpec() == null ? null : l.getSpec().getRenewTime();
            Object before = lastRenewTime.getAndSet(renewTime);
            if (before != null && !before.equals(renewTime)) {
              renewalsSeen.add(Instant.now());
            }
          }

          @Override
          public void onClose(WatcherException cause) {}
        });
    Instant killed;
    Instant seen;
    try {
      killed = Instant.now();
      lab.agent().kill();
      await().atMost(Duration.ofSeconds(70)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
          .untilAsserted(() -> assertThat(slots()).allSatisfy(s -> assertThat(condition(s)).hasValueSatisfying(c -> {
            assertThat(c.getStatus()).isEqualTo("Unknown");
            assertThat(c.getReason()).isEqualTo("AgentSilent");
            assertThat(c.getMessage()).contains("node " + Lab.NODE, "last renewed");
          })));
      seen = Instant.now();
    } finally {
      leaseWatch.close();
    }
    Duration visible = Duration.between(killed, seen);
    // The lease duration runs from the last renewal the API server delivered, which is the kill unless a
    // renewal sent just before it was committed later; the operator's decision is its condition's
    // lastTransitionTime (whole seconds, its clock: this host's), so this test's own polling is not counted.
    Instant lastRenewal = renewalsSeen.stream().max(Instant::compareTo).filter(killed::isBefore).orElse(killed);
    List<AoeBootSlot> silent = slots();
    Instant decided = silent.stream().map(s -> Instant.parse(condition(s).orElseThrow().getLastTransitionTime()))
        .max(Instant::compareTo).orElseThrow();
    Duration judged = Duration.between(lastRenewal.truncatedTo(ChronoUnit.SECONDS), decided);
    System.out.printf("[measure] agent SIGKILLed at %s -> AgentAlive=Unknown on all its slots: seen by this test after %.1f s,"
        + " written at %s (%d s after %s); renew 10 s, lease 40 s; %s%n", killed, visible.toMillis() / 1000.0, decided,
        judged.toSeconds(), lastRenewal.equals(killed) ? "the kill" : "a renewal seen at " + lastRenewal,
        silent.stream().map(s -> s.getMetadata().getName() + ": " + condition(s).orElseThrow().getMessage()).toList());
    System.out.println(lab.controlPlane().kubectlOk("get", "aoebootslots", "-n", NS));
    assertThat(decided).as("written after the kill").isAfterOrEqualTo(killed.truncatedTo(ChronoUnit.SECONDS));
    assertThat(judged).as("from the last renewal the API server delivered to the operator's decision")
        .isLessThan(Duration.ofSeconds(45));
    assertThat(Duration.between(decided, seen)).as("from the operator's decision until this test read it")
        .isLessThan(Duration.ofSeconds(15));
    assertThat(slots()).as("the agent's status fields stay").allSatisfy(s -> {
      assertThat(s.getStatus().getPhase()).isEqualTo(SlotPhase.Serving);
      assertThat(s.getStatus().getExporterPid()).isNotNull();
    });
    assertThat(Exporters.on(lab.network().exporterInterface())).extracting(Exporters.Exporter::target)
        .as("exporters outlive the agent").containsExactlyInAnyOrder("e8.0", "e8.1");

    Instant restarted = Instant.now();
    lab.startAgent();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
        .untilAsserted(() -> assertThat(slots()).allSatisfy(s -> assertThat(condition(s)).isEmpty()));
    System.out.printf("[measure] agent restarted -> AgentAlive condition cleared: %.1f s%n",
        Duration.between(restarted, Instant.now()).toMillis() / 1000.0);
    assertThat(slots()).allSatisfy(s -> assertThat(s.getStatus().getPhase()).isEqualTo(SlotPhase.Serving));
  }

  private List<AoeBootSlot> slots() {
    return lab.controlPlane().client().resources(AoeBootSlot.class).inNamespace(NS).withLabel(Names.POOL_LABEL, POOL)
        .list().getItems();
  }

  private static Optional<Condition> condition(AoeBootSlot slot) {
    return slot.getStatus() == null || slot.getStatus().getConditions() == null ? Optional.empty()
        : slot.getStatus().getConditions().stream().filter(c -> "AgentAlive".equals(c.getType())).findFirst();
  }
}
