package io.cowherd.agent.export;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.aoe.frame.AtaRequests;
import java.io.IOException;
import java.time.Clock;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The per-MAC table of a slot not bound to MACs, against senders that come and go: a burst from
 * invented MACs fills it, but does not keep a real client out once those senders have been idle
 * for {@link AtaIoWatch#UNBOUND_IDLE_MILLIS}. Re-pointing the watch at the same slots (every boot
 * stage tick) keeps each slot's counters and clients, and looks slots up by shelf and slot.
 */
class AtaIoWatchSlotTest {
  private static final long READ_ONE_SECTOR = 1 | (3L << 16) | (7L << 24);

  @Test
  void idleInventedSendersMakeRoomForANewOneOnAnUnboundSlot() {
    AtaIoWatch.SlotIo slot = new AtaIoWatch.SlotIo(7, 3);
    slot.bind(Set.of());
    long t0 = 1_000_000;
    for (int i = 0; i < 50; i++) {
      slot.count(READ_ONE_SECTOR, 0x02_00_00_00_00_00L | i, t0);
    }
    assertThat(slot.clients()).hasSize(AtaIoWatch.MAX_UNBOUND_MACS);
    assertThat(slot.readRequests()).isEqualTo(50);

    long client = 0x52_54_00_12_34_56L;
    slot.count(READ_ONE_SECTOR, client, t0 + 1000);
    assertThat(slot.clients()).as("the burst's senders are not idle yet").extracting(AtaIoWatch.ClientIo::mac)
        .doesNotContain(client);

    long later = t0 + AtaIoWatch.UNBOUND_IDLE_MILLIS + 1;
    slot.count(READ_ONE_SECTOR | AtaRequests.WRITE, client, later);
    assertThat(slot.clients()).hasSize(AtaIoWatch.MAX_UNBOUND_MACS).filteredOn(c -> c.mac() == client)
        .singleElement().satisfies(c -> assertThat(c.lastWriteMillis()).isEqualTo(later));
    assertThat(slot.readRequests()).isEqualTo(51);
    assertThat(slot.writeRequests()).isEqualTo(1);
  }

  @Test
  void rebindingTheSameMacsKeepsTheClientsAndTheirTimes() {
    AtaIoWatch.SlotIo slot = new AtaIoWatch.SlotIo(7, 3);
    long a = 0x52_54_00_00_00_0aL;
    long b = 0x52_54_00_00_00_0bL;
    slot.bind(new LinkedHashSet<>(List.of(a, b)));
    slot.count(READ_ONE_SECTOR, a, 5_000);
    List<AtaIoWatch.ClientIo> before = slot.clients();

    slot.bind(new LinkedHashSet<>(List.of(a, b)));
    assertThat(slot.clients()).containsExactlyElementsOf(before);
    assertThat(slot.clients().getFirst().lastReadMillis()).isEqualTo(5_000);

    slot.bind(Set.of(b));
    assertThat(slot.clients()).extracting(AtaIoWatch.ClientIo::mac).containsExactly(b);
    slot.count(READ_ONE_SECTOR, a, 6_000);
    assertThat(slot.readRequests()).as("a sender no longer bound is not counted").isEqualTo(1);
  }

  @Test
  void updateKeepsTheCountersOfSlotsThatStayAndFindsSlotsByShelfAndSlot() {
    AtaIoWatch watch = new AtaIoWatch(iface -> {
      throw new IOException("no interface in this test");
    }, Clock.systemUTC());
    try {
      List<AtaIoWatch.Exported> both = List.of(new AtaIoWatch.Exported("lab0", 7, 3, Set.of()),
          new AtaIoWatch.Exported("lab0", 7, 4, Set.of()), new AtaIoWatch.Exported("lab0", 8, 3, Set.of()));
      watch.update(both);
      AtaIoWatch.SlotIo s73 = watch.slot("lab0", 7, 3).orElseThrow();
      s73.count(READ_ONE_SECTOR, 0x52_54_00_00_00_01L, 1_000);
      assertThat(watch.slot("lab0", 7, 4)).get().isNotSameAs(s73);
      assertThat(watch.slot("lab0", 8, 3)).get().isNotSameAs(s73);
      assertThat(watch.slot("lab0", 9, 9)).isEmpty();
      assertThat(watch.slot("lab1", 7, 3)).isEmpty();

      watch.update(both);
      assertThat(watch.slot("lab0", 7, 3)).get().isSameAs(s73);

      watch.update(List.of(both.get(0), both.get(2)));
      assertThat(watch.slot("lab0", 7, 4)).isEmpty();
      assertThat(watch.slot("lab0", 7, 3)).get().isSameAs(s73)
          .satisfies(s -> assertThat(s.readRequests()).isEqualTo(1));
    } finally {
      watch.close();
    }
  }
}
