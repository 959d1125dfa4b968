package io.cowherd.agent.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.host.ExecCommandRunner;
import io.cowherd.agent.host.Nft;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.support.HostTools;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The guard with the real nft(8) and nf_tables netdev on a veth pair this test creates (named
 * {@code cwt<hex>}); the only table touched is the guard's on that veth, deleted at the end.
 */
@Tag("host")
class IngressGuardHostTest {
  private String iface;
  private String nftProgram;
  private Nft nft;
  private ScheduledExecutorService scheduler;
  private final List<SlotId> told = new CopyOnWriteArrayList<>();
  private final SlotId id = new SlotId("lab", "debian", 1);

  @BeforeEach
  void setUp() {
    HostTools.requireRoot();
    nftProgram = HostTools.requireProgram("nft", "nftables").toString();
    nft = new Nft(new ExecCommandRunner(), nftProgram);
    iface = HostTools.createVethPair();
    scheduler = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterEach
  void cleanUp() {
    scheduler.shutdownNow();
    if (nftProgram != null && iface != null) {
      HostTools.runQuietly(nftProgram, "delete", "table", "netdev", IngressGuard.tableName(iface));
    }
    HostTools.deleteVethPair(iface);
  }

  @Test
  void tableIsInstalledVerifiedAndRemovedWithTheLastSlot() {
    IngressGuard guard = new IngressGuard(nft, Clock.systemUTC(), told::add, Optional.empty());

    GuardState on = guard.ensure(id, iface);

    assertThat(on.active()).as(on.message()).isTrue();
    Nft.NetdevTable t = nft.listNetdevTable(IngressGuard.tableName(iface)).orElseThrow();
    assertThat(IngressGuard.intact(t)).isTrue();
    assertThat(t.ruleCounters()).containsOnlyKeys(IngressGuard.RULE_COMMENTS);

    guard.release(id);
    assertThat(nft.listNetdevTable(IngressGuard.tableName(iface))).isEmpty();
  }

  @Test
  void tableRemovedBySomeoneElseIsInstalledAgainByTheNextCheck() {
    IngressGuard guard = new IngressGuard(nft, Clock.systemUTC(), told::add, Optional.empty());
    guard.ensure(id, iface);
    guard.start(scheduler);

    HostTools.run(nftProgram, "delete", "table", "netdev", IngressGuard.tableName(iface));

    await().atMost(IngressGuard.VERIFY_EVERY.multipliedBy(3)).untilAsserted(() ->
        assertThat(nft.listNetdevTable(IngressGuard.tableName(iface))).isPresent());
    assertThat(guard.state(iface).orElseThrow().active()).isTrue();
    guard.release(id);
  }

  @Test
  void missingNftLeavesTheGuardOffWithTheReason() {
    IngressGuard guard = new IngressGuard(new Nft(new ExecCommandRunner(), "/nonexistent/nft"), Clock.systemUTC(),
        told::add, Optional.empty());

    GuardState off = guard.ensure(id, iface);

    assertThat(off.active()).isFalse();
    assertThat(off.summary()).startsWith("off: ingress guard off on " + iface + ": ").contains("/nonexistent/nft");
    guard.release(id);
  }
}
