package io.cowherd.operator.liveness;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class AgentHeartbeatsTest {
  private static final Instant T0 = Instant.parse("2026-01-01T10:00:00Z");
  private final AgentHeartbeats heartbeats = new AgentHeartbeats();

  private static Lease lease(String resourceVersion, Instant renewed, int durationSeconds) {
    return new LeaseBuilder().withNewMetadata().withName("cowherd-agent-n1").withNamespace("ns")
        .withResourceVersion(resourceVersion).endMetadata()
        .withNewSpec().withHolderIdentity("n1").withLeaseDurationSeconds(durationSeconds)
        .withRenewTime(renewed.atZone(ZoneOffset.UTC)).endSpec().build();
  }

  @Test
  void missingLeaseIsSilentAndSaysWhichLease() {
    AgentHeartbeats.Verdict v = heartbeats.judge("n1", "cowherd-system", Optional.empty(), T0);

    assertThat(v.alive()).isFalse();
    assertThat(v.message()).contains("Lease cowherd-system/cowherd-agent-n1 does not exist");
  }

  @Test
  void aLeaseIsAliveForItsDurationFromWhenTheOperatorSawItsRenewalWhateverTheAgentClockSays() {
    Lease fromTheFuture = lease("1", T0.plus(Duration.ofHours(1)), 40);
    Lease fromThePast = lease("2", T0.minus(Duration.ofHours(1)), 40);

    AgentHeartbeats.Verdict first = heartbeats.judge("n1", "ns", Optional.of(fromTheFuture), T0);
    assertThat(first.alive()).isTrue();
    assertThat(first.recheckAfter()).contains(Duration.ofSeconds(40));
    assertThat(heartbeats.judge("n1", "ns", Optional.of(fromTheFuture), T0.plusSeconds(39)).alive()).isTrue();
    assertThat(heartbeats.judge("n1", "ns", Optional.of(fromTheFuture), T0.plusSeconds(40)).alive()).isFalse();

    AgentHeartbeats.Verdict renewed = heartbeats.judge("n1", "ns", Optional.of(fromThePast), T0.plusSeconds(41));
    assertThat(renewed.alive()).as("a new resourceVersion is a renewal, seen now").isTrue();
    assertThat(renewed.recheckAfter()).contains(Duration.ofSeconds(40));
  }

  @Test
  void expiredLeaseIsSilentAndNamesTheLastRenewal() {
    Lease lease = lease("7", T0, 10);
    heartbeats.judge("n1", "ns", Optional.of(lease), T0);

    AgentHeartbeats.Verdict v = heartbeats.judge("n1", "ns", Optional.of(lease), T0.plusSeconds(11));

    assertThat(v.alive()).isFalse();
    assertThat(v.recheckAfter()).isEmpty();
    assertThat(v.message()).isEqualTo("node agent on node n1 is silent: heartbeat Lease ns/cowherd-agent-n1 last renewed "
        + "2026-01-01T10:00:00Z (lease duration 10 s); slot status below may be stale");
  }

  @Test
  void placementCountsAnAgentOnlyOnceThisOperatorSawItsLeaseRenewedAndWhileItIsFresh() {
    Lease first = lease("1", T0, 40);
    heartbeats.observe(first, T0);

    assertThat(heartbeats.liveAgents(List.of("n1", "n2"), "ns", Map.of("cowherd-agent-n1", first), T0.plusSeconds(1)).nodes())
        .as("a Lease seen in one version only may have been left behind by an agent that is gone").isEmpty();
    assertThat(heartbeats.judge("n1", "ns", Optional.of(first), T0.plusSeconds(1)).alive())
        .as("the liveness condition gives it the benefit of the doubt").isTrue();

    Lease renewed = lease("2", T0.plusSeconds(10), 40);
    heartbeats.observe(renewed, T0.plusSeconds(10));
    Map<String, Lease> leases = Map.of("cowherd-agent-n1", renewed);

    assertThat(heartbeats.liveAgents(List.of("n1", "n2"), "ns", leases, T0.plusSeconds(11)).nodes()).containsExactly("n1");
    assertThat(heartbeats.liveAgents(List.of("n1"), "ns", leases, T0.plusSeconds(50)).nodes())
        .as("expired one lease duration after the renewal was seen").isEmpty();
  }

  @Test
  void aWriteThatChangesOnlyTheResourceVersionRenewsNothing() {
    Lease lastRenewal = lease("1", T0, 40);
    heartbeats.observe(lastRenewal, T0);
    Lease annotated = new LeaseBuilder(lease("2", T0, 40)).editMetadata().addToAnnotations("touched", "yes").endMetadata()
        .build(); // e.g. kubectl annotate on a dead agent's Lease
    heartbeats.observe(annotated, T0.plusSeconds(30));
    Map<String, Lease> leases = Map.of("cowherd-agent-n1", annotated);

    assertThat(heartbeats.liveAgents(List.of("n1"), "ns", leases, T0.plusSeconds(31)).nodes())
        .as("no renewal seen: not placeable").isEmpty();
    assertThat(heartbeats.judge("n1", "ns", Optional.of(annotated), T0.plusSeconds(40)).alive())
        .as("expired one lease duration after the last renewal, not after the edit").isFalse();
  }

  @Test
  void aStaleCopyFromALaggingInformerRenewsNothing() {
    Lease earlier = lease("1", T0, 40);
    Lease last = lease("2", T0.plusSeconds(10), 40);
    heartbeats.observe(earlier, T0);
    heartbeats.observe(last, T0.plusSeconds(10)); // the placement informer is up to date; the agent dies after this

    assertThat(heartbeats.judge("n1", "ns", Optional.of(earlier), T0.plusSeconds(30)).recheckAfter())
        .as("the liveness informer's cache still holds the earlier renewal: expiry stays 40 s after the last one")
        .contains(Duration.ofSeconds(20));
    assertThat(heartbeats.judge("n1", "ns", Optional.of(last), T0.plusSeconds(31)).recheckAfter())
        .as("and once it catches up, the last renewal is not counted again").contains(Duration.ofSeconds(19));
    assertThat(heartbeats.judge("n1", "ns", Optional.of(last), T0.plusSeconds(50)).alive()).isFalse();
  }

  @Test
  void onlyTheLastRenewalsAreRememberedAsCounted() {
    for (int i = 0; i <= AgentHeartbeats.EARLIER_RENEWALS + 1; i++) {
      heartbeats.observe(lease(Integer.toString(i + 1), T0.plusSeconds(10L * i), 40), T0.plusSeconds(10L * i));
    }
    Instant now = T0.plusSeconds(10L * (AgentHeartbeats.EARLIER_RENEWALS + 1) + 45);

    assertThat(heartbeats.judge("n1", "ns", Optional.of(lease("2", T0.plusSeconds(10), 40)), now).alive())
        .as("a copy one renewal past the remembered ones is stale").isFalse();
    assertThat(heartbeats.judge("n1", "ns", Optional.of(lease("1", T0, 40)), now).alive())
        .as("beyond them a renewTime reads as new (a clock stepped back): the memory is bounded").isTrue();
  }

  @Test
  void aNewRenewTimeWithoutAHolderIsNoRenewal() {
    heartbeats.observe(lease("1", T0, 40), T0);
    Lease released = new LeaseBuilder(lease("2", T0.plusSeconds(10), 40)).editSpec().withHolderIdentity(null).endSpec()
        .build();
    heartbeats.observe(released, T0.plusSeconds(10));

    assertThat(heartbeats.liveAgents(List.of("n1"), "ns", Map.of("cowherd-agent-n1", released), T0.plusSeconds(11))
        .nodes()).isEmpty();
    assertThat(heartbeats.judge("n1", "ns", Optional.of(released), T0.plusSeconds(40)).alive()).isFalse();
  }

  @Test
  void aDeletedLeaseIsForgottenAndComesBackAsSeenForTheFirstTime() {
    heartbeats.observe(lease("1", T0, 40), T0);
    heartbeats.observe(lease("2", T0.plusSeconds(10), 40), T0.plusSeconds(10));
    assertThat(heartbeats.remembered()).isOne();

    heartbeats.forget(lease("2", T0.plusSeconds(10), 40));
    assertThat(heartbeats.remembered()).as("nothing kept for a deleted Lease").isZero();

    Lease recreated = lease("9", T0.plusSeconds(20), 40);
    heartbeats.observe(recreated, T0.plusSeconds(20));
    assertThat(heartbeats.liveAgents(List.of("n1"), "ns", Map.of("cowherd-agent-n1", recreated), T0.plusSeconds(21))
        .nodes()).as("placeable only after a renewal of the new Lease").isEmpty();
  }

  @Test
  void aRenewalTheCacheMissedKeepsTheAgentAliveWhenTheFreshReadShowsIt() {
    Lease cached = lease("7", T0, 10);
    Lease renewedMeanwhile = lease("9", T0.plusSeconds(12), 10);
    heartbeats.judge("n1", "ns", Optional.of(cached), T0);
    List<String> reads = new java.util.ArrayList<>();

    AgentHeartbeats.Verdict v = heartbeats.judgeConfirmed("n1", "ns", Optional.of(cached), (namespace, name) -> {
      reads.add(namespace + "/" + name);
      return Optional.of(renewedMeanwhile);
    }, T0.plusSeconds(15));

    assertThat(v.alive()).as("the stalled cache says silent; the API server has a newer renewal").isTrue();
    assertThat(v.recheckAfter()).contains(Duration.ofSeconds(10));
    assertThat(reads).containsExactly("ns/cowherd-agent-n1");
    assertThat(heartbeats.judge("n1", "ns", Optional.of(cached), T0.plusSeconds(24)).alive())
        .as("the fresh renewal is remembered for the cache's stale copy too").isTrue();
  }

  @Test
  void theAgentIsSilentWhenTheFreshReadShowsNoNewerRenewalOrNoLease() {
    Lease cached = lease("7", T0, 10);
    heartbeats.judge("n1", "ns", Optional.of(cached), T0);

    assertThat(heartbeats.judgeConfirmed("n1", "ns", Optional.of(cached), (namespace, name) -> Optional.of(
        lease("8", T0, 10)), T0.plusSeconds(15)).alive()).as("same renewTime, other resourceVersion").isFalse();
    AgentHeartbeats.Verdict gone = heartbeats.judgeConfirmed("n1", "ns", Optional.of(cached),
        (namespace, name) -> Optional.empty(), T0.plusSeconds(15));
    assertThat(gone.alive()).isFalse();
    assertThat(gone.message()).contains("does not exist");
  }

  @Test
  void aLiveAgentIsNotReadAgainAndAFailedReadLeavesTheCachedVerdict() {
    Lease cached = lease("7", T0, 10);
    AgentHeartbeats.LeaseReader mustNotRead = (namespace, name) -> {
      throw new AssertionError("read while the cached Lease is fresh");
    };
    assertThat(heartbeats.judgeConfirmed("n1", "ns", Optional.of(cached), mustNotRead, T0).alive()).isTrue();

    AgentHeartbeats.Verdict v = heartbeats.judgeConfirmed("n1", "ns", Optional.of(cached), (namespace, name) -> {
      throw new io.fabric8.kubernetes.client.KubernetesClientException("connection refused");
    }, T0.plusSeconds(11));

    assertThat(v.alive()).isFalse();
    assertThat(v.message()).contains("last renewed 2026-01-01T10:00:00Z");
  }
}
