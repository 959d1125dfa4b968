package io.cowherd.operator.conflict;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConflictResolverTest {
  private static final Instant T1 = Instant.parse("2026-01-01T00:00:00Z");
  private static final Instant T2 = Instant.parse("2026-01-02T00:00:00Z");

  private static PoolClaim claim(String ns, String name, Instant created, int shelf, int replicas) {
    return new PoolClaim(ns, name, created, shelf, replicas, false);
  }

  @Test
  void aloneThereIsNoConflict() {
    PoolClaim self = claim("ns", "a", T1, 7, 3);

    ConflictReport report = ConflictResolver.resolve(self, List.of(self), List.of());

    assertThat(report.any()).isFalse();
    assertThat(report.message()).isEmpty();
  }

  @Test
  void olderPoolWinsTargetsNeitherHolds() {
    PoolClaim older = claim("ns", "old", T1, 7, 2);
    PoolClaim newer = claim("ns", "new", T2, 7, 3);

    assertThat(ConflictResolver.resolve(older, List.of(older, newer), List.of()).any()).isFalse();
    ConflictReport report = ConflictResolver.resolve(newer, List.of(older, newer), List.of());
    assertThat(report.blocked()).containsOnlyKeys(0, 1);
    assertThat(report.isBlocked(2)).isFalse();
    assertThat(report.message()).isEqualTo("targets e7.0, e7.1 are claimed by older pool ns/old");
  }

  @Test
  void existingSlotOfNewerPoolKeepsItsTarget() {
    PoolClaim older = claim("ns", "old", T1, 7, 1);
    PoolClaim newer = claim("ns", "new", T2, 7, 1);
    List<HeldTarget> held = List.of(new HeldTarget("ns", "new", 7, 0));

    ConflictReport olderReport = ConflictResolver.resolve(older, List.of(older, newer), held);

    assertThat(olderReport.blocked()).containsOnlyKeys(0);
    assertThat(olderReport.message()).isEqualTo("target e7.0 is served by an existing slot of pool ns/new");
    assertThat(ConflictResolver.resolve(newer, List.of(older, newer), held).any()).isFalse();
  }

  @Test
  void conflictsCrossNamespaces() {
    PoolClaim here = claim("team-a", "boot", T2, 3, 1);
    PoolClaim there = claim("team-b", "boot", T1, 3, 1);

    assertThat(ConflictResolver.resolve(here, List.of(here, there), List.of()).message())
        .isEqualTo("target e3.0 is claimed by older pool team-b/boot");
  }

  @Test
  void samePoolNameInOtherNamespaceIsNotSelf() {
    PoolClaim here = claim("team-a", "boot", T1, 3, 1);
    List<HeldTarget> held = List.of(new HeldTarget("team-b", "boot", 3, 0));

    assertThat(ConflictResolver.resolve(here, List.of(here), held).isBlocked(0)).isTrue();
  }

  @Test
  void otherShelvesDoNotConflict() {
    PoolClaim a = claim("ns", "a", T2, 7, 3);
    PoolClaim b = claim("ns", "b", T1, 8, 3);

    assertThat(ConflictResolver.resolve(a, List.of(a, b), List.of(new HeldTarget("ns", "b", 8, 0))).any()).isFalse();
  }

  @Test
  void deletingPoolClaimsNothingNewButItsSlotsStillHoldTargets() {
    PoolClaim self = claim("ns", "new", T2, 7, 2);
    PoolClaim leaving = new PoolClaim("ns", "old", T1, 7, 2, true);
    List<HeldTarget> held = List.of(new HeldTarget("ns", "old", 7, 1));

    ConflictReport report = ConflictResolver.resolve(self, List.of(self, leaving), held);

    assertThat(report.blocked()).containsOnlyKeys(1);
  }

  @Test
  void ownExistingSlotKeepsTargetAgainstOlderClaim() {
    PoolClaim self = claim("ns", "new", T2, 7, 1);
    PoolClaim older = claim("ns", "old", T1, 7, 1);

    assertThat(ConflictResolver.resolve(self, List.of(self, older), List.of(new HeldTarget("ns", "new", 7, 0))).any())
        .isFalse();
  }

  @Test
  void ownSlotOnPreviousShelfDoesNotHoldNewTarget() {
    PoolClaim self = claim("ns", "moving", T2, 8, 1);
    List<HeldTarget> held = List.of(new HeldTarget("ns", "moving", 7, 0), new HeldTarget("ns", "other", 8, 0));

    assertThat(ConflictResolver.resolve(self, List.of(self), held).message())
        .isEqualTo("target e8.0 is served by an existing slot of pool ns/other");
  }

  @Test
  void sameCreationTimeIsBrokenByNamespaceThenName() {
    PoolClaim a = claim("ns", "a", T1, 7, 1);
    PoolClaim b = claim("ns", "b", T1, 7, 1);

    assertThat(ConflictResolver.resolve(a, List.of(a, b), List.of()).any()).isFalse();
    assertThat(ConflictResolver.resolve(b, List.of(a, b), List.of()).any()).isTrue();
  }

  @Test
  void slotNumbersBeyondTheOlderPoolsReplicasAreFree() {
    PoolClaim older = claim("ns", "old", T1, 7, 2);
    PoolClaim newer = claim("ns", "new", T2, 7, 4);

    assertThat(ConflictResolver.resolve(newer, List.of(older, newer), List.of()).blocked()).containsOnlyKeys(0, 1);
  }

  @Test
  void messageGroupsTargetsByRival() {
    PoolClaim self = claim("ns", "c", T2, 7, 3);
    PoolClaim older = claim("ns", "a", T1, 7, 1);
    List<HeldTarget> held = List.of(new HeldTarget("ns", "b", 7, 1), new HeldTarget("ns", "b", 7, 2));

    assertThat(ConflictResolver.resolve(self, List.of(self, older), held).message())
        .isEqualTo("target e7.0 is claimed by older pool ns/a; targets e7.1, e7.2 are served by an existing slot of pool ns/b");
  }
}
