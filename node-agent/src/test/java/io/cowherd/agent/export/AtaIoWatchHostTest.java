package io.cowherd.agent.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.support.HostTools;
import io.cowherd.agent.support.TestSegment;
import io.cowherd.aoe.frame.AoeConstants;
import io.cowherd.aoe.net.NetNs;
import io.cowherd.aoe.net.RawSocket;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The agent's I/O watch against hostile and odd traffic from the segment, and against its
 * interface going away, on a test-made segment ({@link TestSegment}); frames are hand-made (AoEr11
 * §2, §3) and sent from host namespaces with a raw socket. Slot 7.1 is bound to host 0, slot 7.2 is
 * not bound.
 */
@Tag("host")
class AtaIoWatchHostTest {
  private static final int SHELF = 7;
  private static final int READ_SECTORS = 0x20;
  private static final int WRITE_SECTORS = 0x30;
  private static final int WRITE_SECTORS_EXT = 0x34;
  private static final int IDENTIFY = 0xEC;

  /**
   * Truncated frames, responses, non-ATA commands, non-I/O ATA commands, requests for slots not
   * served and requests from a MAC a slot is not bound to count nothing; a flood from invented MACs
   * on the unbound slot is counted but tracks at most {@link AtaIoWatch#MAX_UNBOUND_MACS} senders;
   * a request to the broadcast shelf and slot (0xffff.0xff), which every exporter on the
   * interface serves (vblade's aoe(): shelf 0xffff and slot 0xff match any), counts on each slot;
   * a write whose frame is shorter than its sector count announces (vblade refuses it) counts nothing.
   */
  @Test
  void hostileFramesCountOnlyWhatTheExportersServe() throws Exception {
    try (TestSegment segment = TestSegment.create();
        AtaIoWatch watch = new AtaIoWatch(AtaIoWatch::ring, Clock.systemUTC())) {
      String clientNs = segment.addHost();
      String rogueNs = segment.addHost();
      long client = segment.hostMac(0).value();
      long rogue = segment.hostMac(1).value();
      String iface = segment.agentIface();
      watch.update(List.of(new AtaIoWatch.Exported(iface, SHELF, 1, Set.of(client)),
          new AtaIoWatch.Exported(iface, SHELF, 2, Set.of())));
      await().atMost(Duration.ofSeconds(5)).until(() -> watch.watching(iface));
      try (RawSocket c = NetNs.openRawSocket(clientNs, "aoe0"); RawSocket r = NetNs.openRawSocket(rogueNs, "aoe0")) {
        byte[] read = ata(rogue, SHELF, 1, 0, 0, 0, 4, READ_SECTORS, 36);
        r.send(read); //                                                    slot 7.1 is bound to the client
        r.send(java.util.Arrays.copyOf(read, 20)); //                       truncated
        r.send(ata(rogue, SHELF, 2, 0, 0, 0, 4, READ_SECTORS, 33)); //          one byte short of the ATA header
        r.send(ata(rogue, SHELF, 2, AoeConstants.FLAG_RESPONSE, 0, 0, 4, READ_SECTORS, 36 + 1024)); // a response
        r.send(ata(rogue, SHELF, 2, 0, 1, 0, 4, READ_SECTORS, 36)); //       Query Config, not ATA
        r.send(ata(rogue, SHELF, 2, 0, 0, 0, 1, IDENTIFY, 36)); //              moves no disk data
        r.send(ata(rogue, SHELF, 9, 0, 0, 0, 4, READ_SECTORS, 36)); //          not served here
        r.send(ata(rogue, SHELF + 1, 2, 0, 0, 0, 4, READ_SECTORS, 36)); //      not served here
        for (int i = 0; i < 300; i++) { //                                   invented senders on the unbound slot
          r.send(ata(0x02_00_00_00_00_00L | i, SHELF, 2, 0, 0, 0, 1, READ_SECTORS, 36));
        }
        c.send(ata(client, 0xffff, 0xff, 0, 0, 0, 2, READ_SECTORS, 36)); //     broadcast: both exporters serve it
        c.send(ata(client, SHELF, 1, 0, 0, 0, 0, READ_SECTORS, 36)); //         sector count 0
        c.send(ata(client, SHELF, 1, 0, 0, AoeConstants.AFLAG_WRITE, 255, WRITE_SECTORS, 36)); // no data
        c.send(ata(client, SHELF, 1, 0, 0, AoeConstants.AFLAG_WRITE, 2, WRITE_SECTORS, 36 + 512)); // short
        c.send(ata(client, SHELF, 1, 0, 0, AoeConstants.AFLAG_EXTENDED | AoeConstants.AFLAG_WRITE, 2, WRITE_SECTORS_EXT,
            36 + 1024));
      }
      AtaIoWatch.SlotIo bound = watch.slot(iface, SHELF, 1).orElseThrow();
      AtaIoWatch.SlotIo unbound = watch.slot(iface, SHELF, 2).orElseThrow();
      await().atMost(Duration.ofSeconds(5)).until(() -> bound.writeRequests() == 1 && unbound.readRequests() >= 300);
      assertThat(bound.readRequests()).as("broadcast read and the zero-sector read").isEqualTo(2);
      assertThat(bound.readBytes()).isEqualTo(1024);
      assertThat(bound.writeBytes()).isEqualTo(1024);
      assertThat(bound.clients()).extracting(AtaIoWatch.ClientIo::mac).containsExactly(client);
      assertThat(unbound.readRequests()).as("300 invented senders and the broadcast read").isEqualTo(301);
      assertThat(unbound.readBytes()).isEqualTo(300 * 512 + 1024);
      assertThat(unbound.writeRequests()).isZero();
      assertThat(unbound.clients()).hasSize(AtaIoWatch.MAX_UNBOUND_MACS);
      assertThat(watch.droppedFrames(iface)).isZero();
    }
  }

  /**
   * The interface going down and up, and being deleted and made again with the same name: the
   * watch counts again each time, and its listener does not spin meanwhile (the kernel leaves
   * ENETDOWN pending on the watch socket, which made every poll return at once).
   */
  @Test
  void theWatchCountsAgainAfterItsInterfaceWentDownOrAwayAndDoesNotSpin() throws Exception {
    try (TestSegment segment = TestSegment.create();
        AtaIoWatch watch = new AtaIoWatch(AtaIoWatch::ring, Clock.systemUTC())) {
      String clientNs = segment.addHost();
      long client = segment.hostMac(0).value();
      String iface = segment.agentIface();
      watch.update(List.of(new AtaIoWatch.Exported(iface, SHELF, 1, Set.of(client))));
      await().atMost(Duration.ofSeconds(5)).until(() -> watch.watching(iface));
      AtaIoWatch.SlotIo io = watch.slot(iface, SHELF, 1).orElseThrow();
      Thread listener = Thread.getAllStackTraces().keySet().stream()
          .filter(t -> t.getName().equals("aoe-io-watch-" + iface)).findFirst().orElseThrow();
      try (RawSocket c = NetNs.openRawSocket(clientNs, "aoe0")) {
        byte[] read = ata(client, SHELF, 1, 0, 0, 0, 1, READ_SECTORS, 36);
        countsAgain(c, read, io); // the ring is open and receiving before the interface goes down
        HostTools.run("ip", "link", "set", iface, "down");
        HostTools.run("ip", "link", "set", iface, "up");
        assertListenerIdles(listener);
        countsAgain(c, read, io);

        String segmentNs = iface + "-seg";
        HostTools.run("ip", "link", "del", iface);
        HostTools.run("ip", "link", "add", iface, "type", "veth", "peer", "name", "agent", "netns", segmentNs);
        HostTools.run("ip", "-n", segmentNs, "link", "set", "agent", "master", "br0", "up");
        HostTools.run("ip", "link", "set", iface, "up");
        countsAgain(c, read, io);
        assertListenerIdles(listener);
        assertThat(listener.isAlive()).as("one listener thread throughout").isTrue();
      }
    }
  }

  /** Sends {@code read} every 200 ms until the watch counts one more read request. */
  private static void countsAgain(RawSocket client, byte[] read, AtaIoWatch.SlotIo io) {
    long before = io.readRequests();
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> {
      client.send(read);
      return io.readRequests() > before;
    });
  }

  /** The listener uses well under a tenth of a core over two idle seconds. */
  private static void assertListenerIdles(Thread listener) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long start = threads.getThreadCpuTime(listener.threadId());
    long startWall = System.nanoTime();
    await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> true);
    long cpu = threads.getThreadCpuTime(listener.threadId()) - start;
    long wall = System.nanoTime() - startWall;
    assertThat(cpu).as("listener CPU ns over %d ms idle", wall / 1_000_000).isLessThan(wall / 10);
  }

  /**
   * An AoE frame to the broadcast address: Ethernet header, AoE header (AoEr11 §2) with version 1,
   * the given flags, shelf, slot and command (0: ATA), then the ATA header (§3) with {@code aflags}, the
   * sector count and the ATA command; {@code length} bytes in all (zero data, or cut short).
   */
  private static byte[] ata(long source, int shelf, int slot, int flags, int command, int aflags, int sectors,
      int ataCmd, int length) {
    byte[] f = new byte[Math.max(length, AoeConstants.OFFSET_ATA_DATA)];
    for (int i = 0; i < 6; i++) {
      f[i] = (byte) 0xff;
      f[AoeConstants.OFFSET_SOURCE + i] = (byte) (source >>> (40 - 8 * i));
    }
    f[12] = (byte) 0x88;
    f[13] = (byte) 0xa2;
    f[AoeConstants.OFFSET_VERSION_FLAGS] = (byte) (0x10 | flags);
    f[AoeConstants.OFFSET_MAJOR] = (byte) (shelf >>> 8);
    f[AoeConstants.OFFSET_MAJOR + 1] = (byte) shelf;
    f[AoeConstants.OFFSET_MINOR] = (byte) slot;
    f[AoeConstants.OFFSET_COMMAND] = (byte) command;
    f[AoeConstants.OFFSET_ATA_AFLAGS] = (byte) aflags;
    f[AoeConstants.OFFSET_ATA_SECTOR_COUNT] = (byte) sectors;
    f[AoeConstants.OFFSET_ATA_CMD_STATUS] = (byte) ataCmd;
    return java.util.Arrays.copyOf(f, length);
  }
}
