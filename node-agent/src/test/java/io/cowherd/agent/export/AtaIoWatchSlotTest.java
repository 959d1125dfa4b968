package io.cowherd.agent.export;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.aoe.frame.AtaRequests;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The per-MAC table of a slot not bound to MACs, against senders that come and go: a burst from
 * invented MACs fills it, but does not keep a real client out once those senders have been idle
 * for {@link AtaIoWatch#UNBOUND_IDLE_MILLIS}.
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
}
