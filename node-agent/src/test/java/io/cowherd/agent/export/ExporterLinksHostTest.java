package io.cowherd.agent.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.agent.host.ExecCommandRunner;
import io.cowherd.agent.host.ExporterLinks;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.agent.host.VbladeProcesses;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.agent.slot.SlotValidator;
import io.cowherd.agent.support.HostTools;
import io.cowherd.agent.support.TestSegment;
import io.cowherd.api.v1alpha1.AoeBootSlotSpec;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.DiscoveredTarget;
import io.cowherd.aoe.initiator.InitiatorOptions;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exporters on links of their own ({@link ExporterLinks.Placement#MACVLAN}) with the real supervisor,
 * real vblade and real macvlans on a test-made segment ({@link TestSegment}): a slot validated with
 * the macvlan placement is exported on {@code cw<shelf><slot>}, a macvlan on the slot's NIC with
 * the derived MAC, and a client in another namespace discovers it at that MAC and reads it (the
 * agent's I/O watch on the NIC counts the reads); stopping
 * the slot deletes the link; a second supervisor (an agent restart) adopts the exporter on its link
 * without restarting it; a link no exporter binds is swept, and an interface merely named like one
 * is left alone; switching a running slot from its NIC to its own link restarts it there once.
 */
@Tag("host")
class ExporterLinksHostTest {
  private static final int SHELF = 0x4c;
  private static final byte[] MARKER = "cowherd-own-link".getBytes(StandardCharsets.US_ASCII);

  @TempDir Path tmp;
  private TestSegment segment;
  private ScheduledExecutorService scheduler;
  private Vblade vblade;
  private ExporterLinks links;
  private final List<VbladeSupervisor> supervisors = new ArrayList<>();
  private final List<SlotId> started = new ArrayList<>();
  private final List<Path> disks = new ArrayList<>();
  private final List<String> extraLinks = new ArrayList<>();

  @BeforeEach
  void setUp() {
    HostTools.requireRoot();
    vblade = HostTools.requireVblade();
    segment = TestSegment.create();
    scheduler = Executors.newScheduledThreadPool(2);
    links = new ExporterLinks(ExporterLinks.Placement.MACVLAN, "c0:7e", Path.of("/sys"), new ExecCommandRunner(), "ip");
  }

  @AfterEach
  void tearDown() {
    if (!supervisors.isEmpty()) {
      VbladeSupervisor last = supervisors.getLast();
      for (SlotId id : started) {
        try {
          last.stop(id, disks);
        } catch (RuntimeException e) {
          // the test's own assertion failed first; the segment's teardown ends what is left
        }
      }
      supervisors.forEach(VbladeSupervisor::close);
    }
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
    for (String name : extraLinks) {
      HostTools.runQuietly("ip", "link", "del", "dev", name);
    }
    if (segment != null) {
      segment.close(); // deleting the agent's veth deletes every macvlan on it
    }
  }

  @Test
  void aSlotIsServedFromItsOwnLinkAtTheDerivedMacAndItsStopDeletesTheLink() throws IOException {
    SlotId id = new SlotId("lab", "links", 1);
    VbladeTarget target = validated(id).target(disk(id));
    String name = ExporterLinks.name(SHELF, 1);
    assertThat(target.link()).isEqualTo(name);
    assertThat(target.iface()).isEqualTo(segment.agentIface());

    VbladeSupervisor supervisor = supervisor();
    assertThat(supervisor.ensure(id, target, tmp.resolve("vblade-1.log")).running()).as(log(1)).isTrue();
    started.add(id);
    assertThat(Path.of("/sys/class/net", name, "lower_" + segment.agentIface())).exists();
    assertThat(Files.readString(Path.of("/sys/class/net", name, "address")).strip()).isEqualTo(links.mac(SHELF, 1));
    assertThat(processes().scan()).filteredOn(p -> p.target().path().equals(disk(id))).singleElement()
        .satisfies(p -> {
          assertThat(p.target().link()).isEqualTo(name);
          assertThat(p.target().iface()).as("claims are judged on the NIC").isEqualTo(segment.agentIface());
          assertThat(p.isExactly(target)).isTrue();
        });

    String clientNs = segment.addHost();
    AoeTarget aoe = new AoeTarget(SHELF, 1);
    String nic = segment.agentIface();
    // The agent's I/O watch stays on the NIC: a frame the macvlan takes is still handed to the NIC's
    // own packet sockets first (net/core/dev.c: orig_dev's ptype_specific list).
    try (AtaIoWatch watch = new AtaIoWatch(AtaIoWatch::ring, Clock.systemUTC());
        AoeInitiator client = AoeInitiator.openInNamespace(clientNs, "aoe0", quick())) {
      watch.update(List.of(new AtaIoWatch.Exported(nic, SHELF, 1, java.util.Set.of())));
      await().atMost(Duration.ofSeconds(5)).until(() -> watch.watching(nic));
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(client.discover(Duration.ofMillis(500))).filteredOn(d -> d.target().equals(aoe))
              .extracting(d -> d.mac().toString().toLowerCase()).containsExactly(links.mac(SHELF, 1)));
      assertThat(Arrays.copyOf(client.read(aoe, 0, 1), MARKER.length)).isEqualTo(MARKER);
      AtaIoWatch.SlotIo io = watch.slot(nic, SHELF, 1).orElseThrow();
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(io.readRequests()).isPositive());
      assertThat(io.readBytes()).isEqualTo(512L * io.readRequests());
    }

    supervisor.stop(id, List.of(disk(id)));
    started.remove(id);
    assertThat(Path.of("/sys/class/net", name)).as("the link goes with its exporter").doesNotExist();
    assertThat(processes().scan()).noneMatch(p -> p.target().path().equals(disk(id)));
  }

  @Test
  void aRestartedAgentAdoptsTheExporterOnItsLinkWithoutRestartingIt() throws IOException {
    SlotId id = new SlotId("lab", "links", 2);
    VbladeTarget target = validated(id).target(disk(id));
    VbladeSupervisor first = supervisor();
    ExporterState before = first.ensure(id, target, tmp.resolve("vblade-2.log"));
    started.add(id);
    assertThat(before.running()).as(log(2)).isTrue();
    first.close(); // as the agent's shutdown: the exporter and its link stay

    VbladeSupervisor second = supervisor();
    ExporterState after = second.ensure(id, target, tmp.resolve("vblade-2.log"));
    assertThat(after.adopted()).isTrue();
    assertThat(after.pid()).isEqualTo(before.pid());
    assertThat(Path.of("/sys/class/net", target.link())).exists();
  }

  @Test
  void aLinkNoExporterBindsIsSweptAndAnInterfaceNamedLikeOneIsLeftAlone() throws IOException {
    SlotId id = new SlotId("lab", "links", 3);
    VbladeTarget target = validated(id).target(disk(id));
    VbladeSupervisor supervisor = supervisor();
    assertThat(supervisor.ensure(id, target, tmp.resolve("vblade-3.log")).running()).as(log(3)).isTrue();
    started.add(id);
    // Left over: made as the agent makes one, then never used (an agent killed before its exporter started).
    String leftover = ExporterLinks.name(SHELF, 4);
    links.ensure(segment.agentIface(), SHELF, 4, leftover);
    extraLinks.add(leftover);
    // Named like a link, but a veth of someone else's: never deleted.
    String foreign = ExporterLinks.name(SHELF, 5);
    HostTools.run("ip", "link", "add", foreign, "type", "veth", "peer", "name", "cwpeer" + SHELF);
    extraLinks.add(foreign);

    await().atMost(VbladeSupervisor.SWEEP_PERIOD.multipliedBy(3)).untilAsserted(() ->
        assertThat(Path.of("/sys/class/net", leftover)).doesNotExist());
    assertThat(Path.of("/sys/class/net", foreign)).exists();
    assertThat(Path.of("/sys/class/net", target.link())).as("the running exporter's link stays").exists();
    assertThat(supervisor.state(id)).hasValueSatisfying(s -> assertThat(s.running()).isTrue());
  }

  @Test
  void switchingARunningSlotFromItsNicToItsOwnLinkRestartsItThereOnce() throws IOException {
    SlotId id = new SlotId("lab", "links", 6);
    VbladeTarget onLink = validated(id).target(disk(id));
    VbladeTarget onNic = new VbladeTarget(onLink.shelf(), onLink.slot(), onLink.iface(), onLink.path(),
        onLink.writeCache(), onLink.macs());
    VbladeSupervisor supervisor = supervisor();
    long shared = supervisor.ensure(id, onNic, tmp.resolve("vblade-6.log")).pid();
    started.add(id);

    ExporterState moved = supervisor.ensure(id, onLink, tmp.resolve("vblade-6.log"));
    assertThat(moved.running()).as(log(6)).isTrue();
    assertThat(moved.pid()).isNotEqualTo(shared);
    List<VbladeProcess> serving = processes().scan().stream().filter(p -> p.target().path().equals(disk(id))).toList();
    assertThat(serving).singleElement().satisfies(p -> assertThat(p.target().link()).isEqualTo(onLink.link()));

    // And back: the link is deleted once nothing binds it.
    ExporterState back = supervisor.ensure(id, onNic, tmp.resolve("vblade-6.log"));
    assertThat(back.running()).isTrue();
    assertThat(Path.of("/sys/class/net", onLink.link())).doesNotExist();
  }

  /**
   * The ingress guard stays on the NIC: its netdev ingress hook runs before the macvlan's rx_handler
   * (net/core/dev.c: {@code sch_handle_ingress} / {@code nf_ingress} before {@code rx_handler}), so
   * rogue control requests addressed to the exporter's own MAC, or broadcast, are dropped there and the
   * exporter never sees one: same process, the client keeps reading.
   */
  @Test
  void theGuardOnTheNicDropsRogueControlFramesSentToTheExportersOwnMac() throws IOException {
    SlotId id = new SlotId("lab", "links", 7);
    VbladeTarget target = validated(id).target(disk(id));
    String nic = segment.agentIface();
    String clientNs = segment.addHost();
    String rogueNs = segment.addHost();
    io.cowherd.aoe.frame.MacAddress rogueMac = segment.hostMac(1);
    IngressGuard guard = new IngressGuard(new io.cowherd.agent.host.Nft(new ExecCommandRunner(),
        HostTools.requireProgram("nft", "nftables").toString()), Clock.systemUTC(), changed -> {}, java.util.Optional.empty());
    try {
      assertThat(guard.ensure(id, nic).active()).isTrue();
      VbladeSupervisor supervisor = supervisor();
      long pid = supervisor.ensure(id, target, tmp.resolve("vblade-7.log")).pid();
      started.add(id);
      AoeTarget aoe = new AoeTarget(SHELF, 7);
      io.cowherd.aoe.frame.MacAddress own = io.cowherd.aoe.frame.MacAddress.parse(links.mac(SHELF, 7));
      try (io.cowherd.agent.support.ReadingClient client = new io.cowherd.agent.support.ReadingClient(clientNs, "aoe0", aoe);
          io.cowherd.aoe.net.RawSocket rogue = io.cowherd.aoe.net.NetNs.openRawSocket(rogueNs, "aoe0")) {
        await().atMost(Duration.ofSeconds(10)).until(() -> client.reads() > 20);
        int tag = 0x7000;
        for (io.cowherd.aoe.frame.MacAddress to : List.of(own, io.cowherd.aoe.frame.MacAddress.BROADCAST)) {
          io.cowherd.aoe.frame.EthernetHeader eth = new io.cowherd.aoe.frame.EthernetHeader(to, rogueMac);
          for (io.cowherd.aoe.frame.AoeMessage m : List.of(
              io.cowherd.aoe.frame.ControlRequests.macMaskList(eth, aoe, tag++, List.of(
                  new io.cowherd.aoe.frame.ControlRequests.Directive(io.cowherd.aoe.frame.ControlRequests.DIRECTIVE_ADD,
                      rogueMac))),
              io.cowherd.aoe.frame.ControlRequests.reserveRelease(eth, aoe, tag++,
                  io.cowherd.aoe.frame.ControlRequests.RESERVE_FORCE_SET, List.of(rogueMac)),
              io.cowherd.aoe.frame.ControlRequests.setConfig(eth, aoe, tag++, io.cowherd.aoe.frame.ConfigCommand.FORCE_SET,
                  "owned-by-rogue"))) {
            rogue.send(io.cowherd.aoe.frame.FrameEncoder.INSTANCE.encode(m));
          }
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
          guard.poll();
          assertThat(guard.state(nic).orElseThrow().droppedFrames())
              .containsEntry("mask-list", 2L).containsEntry("reserve-release", 2L).containsEntry("config-set", 2L);
        });
        long reads = client.reads();
        await().atMost(Duration.ofSeconds(5)).until(() -> client.reads() > reads + 20);
        assertThat(client.longestStall()).isLessThan(Duration.ofSeconds(1));
      }
      assertThat(supervisor.state(id).orElseThrow().pid()).as("the exporter saw no frame: same process").isEqualTo(pid);
    } finally {
      guard.release(id);
    }
  }

  /**
   * The duplicate-exporter rule with links on both sides: another host of the segment serves the same
   * target from its own link (same derived MAC, as a node this slot moved off would); the supervisor
   * sees it answering on the wire, starts nothing and makes no link.
   */
  @Test
  void anExporterOfTheTargetOnAnotherHostsLinkIsADuplicateAndNothingStarts() throws Exception {
    SlotId id = new SlotId("lab", "links", 8);
    VbladeTarget target = validated(id).target(disk(id));
    String otherNs = segment.addHost();
    // Another name than ours: a vblade on a link named like ours would be judged a claim from /proc already
    // (its namespace shares this host's pids); this test is about the wire.
    String theirLink = "other" + SHELF;
    HostTools.run("ip", "-n", otherNs, "link", "add", "link", "aoe0", "name", theirLink, "address",
        links.mac(SHELF, 8), "type", "macvlan", "mode", "bridge");
    HostTools.run("ip", "-n", otherNs, "link", "set", theirLink, "up");
    Path other = tmp.resolve("other.img");
    Files.write(other, new byte[1 << 20]);
    Process theirs = new ProcessBuilder("ip", "netns", "exec", otherNs, vblade.program(), Integer.toString(SHELF), "8",
        theirLink, other.toString()).redirectInput(java.lang.ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectOutput(java.lang.ProcessBuilder.Redirect.DISCARD).redirectError(java.lang.ProcessBuilder.Redirect.DISCARD)
        .start();
    try {
      String clientNs = segment.addHost();
      try (AoeInitiator client = AoeInitiator.openInNamespace(clientNs, "aoe0", quick())) {
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
            assertThat(client.discover(Duration.ofMillis(500))).extracting(DiscoveredTarget::target)
                .contains(new AoeTarget(SHELF, 8)));
      }
      ExporterState state = supervisor().ensure(id, target, tmp.resolve("vblade-8.log"));
      started.add(id);
      assertThat(state.duplicate()).as("the other host's exporter answering for %s", target.aoeName()).isNotNull();
      assertThat(state.running()).isFalse();
      assertThat(Path.of("/sys/class/net", target.link())).as("no link made beside a duplicate").doesNotExist();
    } finally {
      theirs.destroyForcibly().waitFor();
    }
  }

  /**
   * A slot refused because a vblade not its own already binds its link (a conflict on this host) is
   * stopped: that vblade and its link are left alone, as the refusal left them.
   */
  @Test
  void stoppingASlotRefusedForAConflictLeavesTheOtherVbladeAndItsLink() throws Exception {
    SlotId id = new SlotId("lab", "links", 9);
    VbladeTarget target = validated(id).target(disk(id));
    links.ensure(segment.agentIface(), SHELF, 9, target.link());
    extraLinks.add(target.link());
    Path other = tmp.resolve("foreign.img");
    Files.write(other, new byte[1 << 20]);
    Process theirs = new ProcessBuilder(vblade.program(), Integer.toString(SHELF), "9", target.link(), other.toString())
        .redirectInput(java.lang.ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectOutput(java.lang.ProcessBuilder.Redirect.DISCARD).redirectError(java.lang.ProcessBuilder.Redirect.DISCARD)
        .start();
    try {
      await().atMost(Duration.ofSeconds(10)).until(() -> processes().scan().stream()
          .anyMatch(p -> p.pid() == theirs.pid()));
      VbladeSupervisor supervisor = supervisor();
      ExporterState state = supervisor.ensure(id, target, tmp.resolve("vblade-9.log"));
      assertThat(state.conflict()).isNotNull();
      assertThat(state.conflict().pid()).isEqualTo(theirs.pid());
      supervisor.stop(id, List.of(disk(id)));
      assertThat(theirs.isAlive()).as("the other vblade, which the agent refused to touch").isTrue();
      assertThat(Path.of("/sys/class/net", target.link())).as("the link it binds").exists();
    } finally {
      theirs.destroyForcibly().waitFor();
    }
  }

  private io.cowherd.agent.slot.ValidatedSlot validated(SlotId id) throws IOException {
    AoeBootSlotSpec spec = new AoeBootSlotSpec();
    spec.setPool(id.pool());
    spec.setShelf(SHELF);
    spec.setSlot(id.slot());
    spec.setNodeName("node-a");
    spec.setImage(disk(id).toString());
    spec.setInterface(segment.agentIface());
    return new SlotValidator(List.of(tmp.resolve("images")), Path.of("/sys"), links).validate(id.namespace(), spec);
  }

  private Path disk(SlotId id) {
    try {
      Path disk = Files.createDirectories(tmp.resolve("images")).resolve("slot-" + id.slot() + ".img");
      if (!Files.exists(disk)) {
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
          f.setLength(8 << 20);
          f.write(MARKER);
        }
        disks.add(disk);
      }
      return disk;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private VbladeSupervisor supervisor() {
    VbladeSupervisor s = HostTools.hostSupervisor(vblade, scheduler, links);
    supervisors.add(s);
    return s;
  }

  private VbladeProcesses processes() {
    return new VbladeProcesses(Path.of("/proc"), vblade, links);
  }

  private static InitiatorOptions quick() {
    return InitiatorOptions.defaults().withFrameTimeout(Duration.ofMillis(200)).withMaxRetries(2);
  }

  private String log(int slot) {
    Path log = tmp.resolve("vblade-" + slot + ".log");
    try {
      return "vblade log: " + (Files.exists(log) ? Files.readString(log) : "(none)");
    } catch (IOException e) {
      return e.toString();
    }
  }
}
