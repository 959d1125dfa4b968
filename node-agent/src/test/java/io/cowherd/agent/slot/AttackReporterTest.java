package io.cowherd.agent.slot;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.export.IngressGuard;
import io.cowherd.agent.export.IngressGuardTest;
import io.cowherd.agent.host.FakeCommandRunner;
import io.cowherd.agent.host.Nft;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.support.Segments;
import io.cowherd.agent.support.Slots;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Events about dropped control frames: named MACs, at most one per interval, none without news. */
class AttackReporterTest {
  private static final List<String> LIST = List.of("nft", "-j", "list", "table", "netdev", "cowherd_eth1");
  private final List<String> events = new ArrayList<>();
  private final SlotId id = new SlotId("lab", "debian", 1);

  private static final class MutableClock extends Clock {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  @Test
  void newDropsGiveOneWarningNamingTheMacThenNothingUntilTheIntervalPasses() {
    FakeCommandRunner nft = new FakeCommandRunner()
        .once(LIST, IngressGuardTest.table(0, 0, 0))
        .once(LIST, IngressGuardTest.table(3, 1, 0, "02:cc:00:00:00:09"))
        .on(LIST, IngressGuardTest.table(9, 1, 0, "02:cc:00:00:00:09"));
    MutableClock clock = new MutableClock();
    IngressGuard guard = new IngressGuard(new Nft(nft, "nft"), clock, changed -> {}, Optional.empty());
    AttackReporter reporter = new AttackReporter(guard, Segments.silentWatch(null), (slot, type, reason, message) ->
        events.add(type + " " + reason + ": " + message), clock);
    AoeBootSlot slot = Slots.aSlot().build();
    guard.ensure(id, "eth1");

    reporter.report(slot, id, "eth1");
    assertThat(events).as("steady state: no Event").isEmpty();

    guard.poll();
    reporter.report(slot, id, "eth1");
    assertThat(events).containsExactly("Warning ControlFramesDropped: ingress guard on eth1 dropped 4 AoE control "
        + "request(s) (since the agent started: mask-list 3, reserve-release 1) from MAC 02:cc:00:00:00:09; "
        + "the exporter never saw them");

    guard.poll();
    reporter.report(slot, id, "eth1");
    assertThat(events).as("rate-limited").hasSize(1);

    clock.now = clock.now.plus(AttackReporter.EVENT_INTERVAL);
    reporter.report(slot, id, "eth1");
    assertThat(events).hasSize(2);
    assertThat(events.get(1)).contains("dropped 6 AoE control request(s)");
  }

  @Test
  void guardOffIsReportedOnce() {
    IngressGuard guard = Segments.guardOff(changed -> {});
    AttackReporter reporter = new AttackReporter(guard, Segments.silentWatch(null), (slot, type, reason, message) ->
        events.add(type + " " + reason), Clock.systemUTC());
    guard.ensure(id, "eth1");
    AoeBootSlot slot = Slots.aSlot().build();

    reporter.report(slot, id, "eth1");
    reporter.report(slot, id, "eth1");

    assertThat(events).containsExactly("Warning IngressGuardOff");
  }
}
