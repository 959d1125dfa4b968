package io.cowherd.agent.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.host.ExecCommandRunner;
import io.cowherd.agent.host.Nft;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.agent.support.HostTools;
import io.cowherd.agent.support.ReadingClient;
import io.cowherd.agent.support.TestSegment;
import io.cowherd.aoe.frame.AoeMessage;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.ConfigCommand;
import io.cowherd.aoe.frame.ControlRequests;
import io.cowherd.aoe.frame.EthernetHeader;
import io.cowherd.aoe.frame.FrameEncoder;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.aoe.net.NetNs;
import io.cowherd.aoe.net.RawSocket;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rogue initiator on the boot segment against a real vblade run by the real supervisor, ingress
 * guard and control frame watch (wired as {@link io.cowherd.agent.slot.SlotExecutor} wires them),
 * while the slot's real client reads without pause from another namespace. The segment is a bridge
 * in a namespace of its own ({@link TestSegment}); the exporter's interface is a veth this test
 * creates, and the only nftables table made is the guard's on that veth, removed at the end.
 *
 * <p>Attacks (vblade 25 obeys all from any host): MAC Mask List add of the rogue's MAC (the client
 * is ignored from then on), Reserve/Release force set to the rogue (the client's reads are
 * refused), a mask list edit adding then deleting one MAC (vblade aborts: "buffer overflow
 * detected", exit 134) and a config string force set. Each once, then all in turn every 100 ms
 * for 10 s. Numbers are printed; assertions bound the client's longest read stall by 1 s with the
 * guard, by 2 s without it (detection and restart alone).
 */
@Tag("host")
class RogueInitiatorHostTest {
  static final int SHELF = 41;
  static final int SLOT = 7;
  private static final Duration BOUND = Duration.ofSeconds(1);
  private static final Duration DETECTION_BOUND = Duration.ofSeconds(2);

  @TempDir Path tmp;
  TestSegment segment;
  private ScheduledExecutorService scheduler;
  VbladeSupervisor supervisor;
  private IngressGuard guard;
  private ControlFrameWatch watch;
  ReadingClient client;
  private RawSocket rogue;
  private MacAddress rogueMac;
  final SlotId id = new SlotId("lab", "debian", SLOT);
  final List<String> report = new ArrayList<>();
  private int tag = 0x5000;

  @BeforeEach
  void setUp() throws IOException {
    HostTools.requireRoot();
    segment = TestSegment.create();
    String clientNs = segment.addHost();
    String rogueNs = segment.addHost();
    rogueMac = segment.hostMac(1);
    scheduler = Executors.newSingleThreadScheduledExecutor();
    Path disk = tmp.resolve("slot.img");
    try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
      f.setLength(8 << 20);
    }
    supervisor = HostTools.hostSupervisor(HostTools.requireVblade(), scheduler);
    rogue = NetNs.openRawSocket(rogueNs, "aoe0");
    this.clientNs = clientNs;
    this.disk = disk;
  }

  private String clientNs;
  private Path disk;

  /** Guard (unless {@code guardOff}), watch and exporter, in the executor's order; then the client reads. */
  void serve(Optional<String> guardOff) throws IOException {
    serve(guardOff, true);
  }

  /** As {@link #serve(Optional)}, the watch only if {@code watchOn} (off: cowherd before this guard). */
  void serve(Optional<String> guardOff, boolean watchOn) throws IOException {
    String iface = segment.agentIface();
    guard = new IngressGuard(new Nft(new ExecCommandRunner(), HostTools.requireProgram("nft", "nftables").toString()),
        Clock.systemUTC(), changed -> {}, guardOff);
    assertThat(guard.ensure(id, iface).active()).as("guard on").isEqualTo(guardOff.isEmpty());
    watch = new ControlFrameWatch(RawSocket::open, supervisor, Clock.systemUTC());
    if (watchOn) {
      watch.watch(id, iface);
    }
    assertThat(supervisor.ensure(id, new VbladeTarget(SHELF, SLOT, iface, disk), tmp.resolve("vblade.log")).running())
        .isTrue();
    client = new ReadingClient(clientNs, "aoe0", new AoeTarget(SHELF, SLOT));
    await().atMost(Duration.ofSeconds(10)).until(() -> client.reads() > 20);
  }

  @AfterEach
  void tearDown() {
    report.forEach(System.out::println);
    if (client != null) {
      client.close();
    }
    if (watch != null) {
      watch.close();
    }
    if (supervisor != null) {
      supervisor.stop(id, List.of(disk));
      supervisor.close();
    }
    if (guard != null) {
      guard.release(id);
    }
    if (rogue != null) {
      rogue.close();
    }
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
    if (segment != null) {
      segment.close();
    }
  }

  /** The four attacks, each a frame from the rogue to our target. */
  List<Function<AoeTarget, AoeMessage>> attacks() {
    EthernetHeader eth = new EthernetHeader(MacAddress.BROADCAST, rogueMac);
    return List.of(
        t -> ControlRequests.macMaskList(eth, t, tag++,
            List.of(new ControlRequests.Directive(ControlRequests.DIRECTIVE_ADD, rogueMac))),
        t -> ControlRequests.reserveRelease(eth, t, tag++, ControlRequests.RESERVE_FORCE_SET, List.of(rogueMac)),
        t -> ControlRequests.macMaskList(eth, t, tag++, List.of(
            new ControlRequests.Directive(ControlRequests.DIRECTIVE_ADD, rogueMac),
            new ControlRequests.Directive(ControlRequests.DIRECTIVE_DELETE, rogueMac))),
        t -> ControlRequests.setConfig(eth, t, tag++, ConfigCommand.FORCE_SET, "owned-by-rogue"));
  }

  static final List<String> NAMES = List.of("mask add", "reserve", "crashing mask delete", "config force set");

  void send(AoeMessage m) throws IOException {
    rogue.send(FrameEncoder.INSTANCE.encode(m));
  }

  /**
   * Sends each attack once and waits {@code window} after it; returns the longest stall of each.
   */
  List<Duration> singleFrames(String mode, Duration window) throws IOException {
    List<Duration> stalls = new ArrayList<>();
    List<Function<AoeTarget, AoeMessage>> attacks = attacks();
    for (int i = 0; i < attacks.size(); i++) {
      client.resetStall();
      long readsBefore = client.reads();
      send(attacks.get(i).apply(new AoeTarget(SHELF, SLOT)));
      long start = System.nanoTime();
      // Watch the window pass, then the client read again (or the window is its outage).
      await().atMost(window.plusSeconds(5)).pollInterval(Duration.ofMillis(20))
          .until(() -> System.nanoTime() - start >= window.toNanos() && client.reads() > readsBefore);
      Duration stall = client.longestStall();
      stalls.add(stall);
      report.add("%s: single %s: longest read stall %d ms".formatted(mode, NAMES.get(i), stall.toMillis()));
    }
    return stalls;
  }

  /** Every 100 ms for {@code length}, the attacks in turn; returns the longest stall. */
  Duration repeated(String mode, Duration length) throws IOException {
    List<Function<AoeTarget, AoeMessage>> attacks = attacks();
    client.resetStall();
    long end = System.nanoTime() + length.toNanos();
    int sent = 0;
    long next = System.nanoTime();
    while (System.nanoTime() < end) {
      send(attacks.get(sent % attacks.size()).apply(new AoeTarget(SHELF, SLOT)));
      sent++;
      next += 100_000_000L;
      java.util.concurrent.locks.LockSupport.parkNanos(next - System.nanoTime()); // the attacker's pace, not a wait for a result
    }
    long readsAtEnd = client.reads();
    await().atMost(Duration.ofSeconds(5)).until(() -> client.reads() > readsAtEnd);
    Duration stall = client.longestStall();
    report.add("%s: %d frames every 100 ms for %d s: longest read stall %d ms, %d reads, %d failed reads"
        .formatted(mode, sent, length.toSeconds(), stall.toMillis(), client.reads(), client.failures()));
    return stall;
  }

  @Test
  void guardDropsRogueControlFramesSoTheClientNeverStallsAndNamesTheSender() throws IOException {
    serve(Optional.empty());
    long pid = supervisor.state(id).orElseThrow().pid();

    List<Duration> single = singleFrames("guard on", Duration.ofSeconds(2));
    Duration repeated = repeated("guard on", Duration.ofSeconds(10));

    assertThat(single).allSatisfy(s -> assertThat(s).isLessThan(BOUND));
    assertThat(repeated).isLessThan(BOUND);
    assertThat(supervisor.state(id).orElseThrow().pid()).as("the exporter never saw a frame: same process").isEqualTo(pid);
    guard.poll();
    GuardState g = guard.state(segment.agentIface()).orElseThrow();
    report.add("guard on: dropped " + g.droppedFrames() + " from " + g.offenders());
    assertThat(g.droppedFrames().get("mask-list")).isGreaterThanOrEqualTo(2 + 50);
    assertThat(g.droppedFrames().get("reserve-release")).isGreaterThanOrEqualTo(1 + 25);
    assertThat(g.droppedFrames().get("config-set")).isGreaterThanOrEqualTo(1 + 25);
    assertThat(g.offenders()).containsExactly(rogueMac.toString());
    assertThat(watch.attempts(id)).as("nothing got past the guard").isZero();
  }

  /**
   * The frame of {@code m} with 802.1Q/802.1ad tags inserted after the source MAC, outermost first;
   * each tag is {@code {tpid, vid}}.
   */
  static byte[] tagged(AoeMessage m, int[]... tags) {
    byte[] plain = FrameEncoder.INSTANCE.encode(m);
    byte[] out = new byte[plain.length + 4 * tags.length];
    System.arraycopy(plain, 0, out, 0, 12);
    for (int i = 0; i < tags.length; i++) {
      out[12 + 4 * i] = (byte) (tags[i][0] >> 8);
      out[13 + 4 * i] = (byte) tags[i][0];
      out[14 + 4 * i] = (byte) (tags[i][1] >> 8);
      out[15 + 4 * i] = (byte) tags[i][1];
    }
    System.arraycopy(plain, 12, out, 12 + 4 * tags.length, plain.length - 12);
    return out;
  }

  /**
   * Tagged control requests reach vblade on the untagged interface: the kernel strips a tag of any
   * VID (no VLAN device: PACKET_OTHERHOST, which packet sockets still get) and further tags behind
   * a priority tag (VID 0) before it hands the frame to the AoE protocol's sockets, while the
   * ingress hook still sees the tags (seen on this machine with vblade 25: a mask add tagged VID 0,
   * VID 5 under 802.1ad, or VID 0 then VID 9 locks the client out). The guard alone (no watch here)
   * must drop them all.
   */
  @Test
  void guardDropsVlanTaggedControlRequestsThatVbladeWouldObey() throws IOException {
    serve(Optional.empty(), false);
    long pid = supervisor.state(id).orElseThrow().pid();
    List<int[][]> tagSets = List.of(
        new int[][] {{0x8100, 0}},
        new int[][] {{0x88a8, 5}},
        new int[][] {{0x8100, 0}, {0x8100, 9}},
        new int[][] {{0x88a8, 0}, {0x8100, 0}, {0x8100, 0}});
    int sent = 0;
    for (int[][] tags : tagSets) {
      List<Function<AoeTarget, AoeMessage>> attacks = attacks();
      for (int i = 0; i < attacks.size(); i++) {
        client.resetStall();
        rogue.send(tagged(attacks.get(i).apply(new AoeTarget(SHELF, SLOT)), tags));
        sent++;
        long start = System.nanoTime();
        long readsBefore = client.reads();
        await("client reads again after %s tagged %s".formatted(NAMES.get(i), java.util.Arrays.deepToString(tags)))
            .atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
            .until(() -> System.nanoTime() - start >= Duration.ofSeconds(1).toNanos() && client.reads() > readsBefore);
        report.add("tagged %s: %s: longest read stall %d ms"
            .formatted(java.util.Arrays.deepToString(tags), NAMES.get(i), client.longestStall().toMillis()));
        assertThat(client.longestStall()).as("%s tagged %s", NAMES.get(i), java.util.Arrays.deepToString(tags))
            .isLessThan(BOUND);
      }
    }
    assertThat(supervisor.state(id).orElseThrow().pid()).as("vblade never saw a frame: same process").isEqualTo(pid);
    guard.poll();
    GuardState g = guard.state(segment.agentIface()).orElseThrow();
    report.add("tagged: dropped " + g.droppedFrames() + " from " + g.offenders());
    assertThat(g.droppedTotal()).isEqualTo(sent);
    assertThat(g.offenders()).containsExactly(rogueMac.toString());
  }

  /**
   * The offenders set is bounded ({@link IngressGuard#OFFENDERS_MAX} MACs; nft's default 65535);
   * when it is full, nft cannot add the next sender and a rule that updates the set before its
   * verdict stops there: the frame is accepted (seen on this machine: after 65535 frames from as
   * many forged MACs, a mask add locked the client out). A flood of forged senders must not switch
   * the guard off.
   */
  @Test
  void guardStillDropsWhenAFloodOfForgedSendersFillsTheOffendersSet() throws IOException {
    serve(Optional.empty(), false);
    long pid = supervisor.state(id).orElseThrow().pid();
    int forged = 4 * IngressGuard.OFFENDERS_MAX;
    for (int i = 0; i < forged; i++) {
      MacAddress mac = MacAddress.parse("02:77:00:%02x:%02x:%02x".formatted(i >> 16, (i >> 8) & 0xFF, i & 0xFF));
      send(ControlRequests.reserveRelease(new EthernetHeader(MacAddress.BROADCAST, mac), new AoeTarget(SHELF, SLOT),
          tag++, 0, List.of()));
    }
    List<Duration> single = singleFrames("guard on, offenders set full", Duration.ofSeconds(1));

    assertThat(single).allSatisfy(s -> assertThat(s).isLessThan(BOUND));
    assertThat(supervisor.state(id).orElseThrow().pid()).as("vblade never saw a frame: same process").isEqualTo(pid);
    guard.poll();
    GuardState g = guard.state(segment.agentIface()).orElseThrow();
    report.add("offenders set full: dropped " + g.droppedFrames() + ", " + g.offenders().size() + " offenders listed");
    assertThat(g.offenders()).hasSize(IngressGuard.OFFENDERS_MAX);
    assertThat(g.droppedTotal()).isEqualTo(forged + attacks().size());
  }

  /**
   * vblade 25 does not read the AoE version field (seen on this machine: a mask add with version 0,
   * 2 or 15 locks the client out like one with version 1), so the watch must not take such a frame
   * for noise: without the guard, each of the attacks with a version other than 1 is undone.
   */
  @Test
  void withoutTheGuardTheWatchAlsoRestoresAfterRequestsOfAnotherAoeVersion() throws IOException {
    serve(Optional.of("switched off by the test"));
    List<Function<AoeTarget, AoeMessage>> attacks = attacks();
    int[] versions = {0, 2, 15};
    for (int v = 0; v < versions.length; v++) {
      int version = versions[v];
      for (int i = 0; i < attacks.size(); i++) {
        client.resetStall();
        byte[] frame = FrameEncoder.INSTANCE.encode(attacks.get(i).apply(new AoeTarget(SHELF, SLOT)));
        frame[14] = (byte) ((version << 4) | (frame[14] & 0x0F));
        rogue.send(frame);
        long start = System.nanoTime();
        long readsBefore = client.reads();
        await("client reads again after %s of AoE version %d".formatted(NAMES.get(i), version))
            .atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
            .until(() -> System.nanoTime() - start >= Duration.ofSeconds(1).toNanos() && client.reads() > readsBefore);
        report.add("guard off, version %d: %s: longest read stall %d ms"
            .formatted(version, NAMES.get(i), client.longestStall().toMillis()));
        assertThat(client.longestStall()).isLessThan(DETECTION_BOUND);
      }
    }
    assertThat(watch.attempts(id)).isEqualTo(versions.length * attacks.size());
    assertThat(watch.lastAttempt(id).orElseThrow().source()).isEqualTo(rogueMac.toString());
  }

  @Test
  void withoutTheGuardTheWatchRestoresTheExporterWithinASecondAndNamesTheSender() throws IOException {
    serve(Optional.of("switched off by the test"));

    List<Duration> single = singleFrames("guard off, watch on", Duration.ofSeconds(2));
    Duration repeated = repeated("guard off, watch on", Duration.ofSeconds(10));

    // Each restore is a vblade restart, whose speed depends on the host's load (packet socket setup and
    // release): measured 50-250 ms per frame on an idle host, up to ~0.8 s at load average 24 on 2 cores.
    // Bounded, unlike the lockout without the watch (until vblade restarts, see RogueInitiatorBenchmark).
    assertThat(single).allSatisfy(s -> assertThat(s).isLessThan(DETECTION_BOUND));
    assertThat(repeated).isLessThan(DETECTION_BOUND);
    assertThat(watch.attempts(id)).isGreaterThanOrEqualTo(4 + 100);
    ControlFrameWatch.Attempt last = watch.lastAttempt(id).orElseThrow();
    assertThat(last.source()).isEqualTo(rogueMac.toString());
    assertThat(last.target()).isEqualTo("e" + SHELF + "." + SLOT);
    assertThat(guard.state(segment.agentIface()).orElseThrow().active()).isFalse();
    report.add("guard off: " + watch.attempts(id) + " attempts seen, exporter restarts "
        + supervisor.state(id).orElseThrow().restarts() + ", last " + last);
  }
}
