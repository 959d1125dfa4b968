package io.cowherd.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.e2e.support.Exporters;
import io.cowherd.e2e.support.Lab;
import io.cowherd.e2e.support.LabNode;
import io.cowherd.e2e.support.PlainVblade;
import io.cowherd.e2e.support.WireMonitor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * One pool spread over two node agents (issue 11, goal 6): the lab's own host and a second
 * simulated host ({@link Lab#addNode}: its own network namespace, exporter NIC on the same segment
 * under the same name, state dir and Node object), one operator. A {@link WireMonitor} in a client
 * namespace of the segment broadcasts a Query Config every 200 ms from the first step to the last
 * and records every round in which a target answered twice (two MACs, or two exporters of one
 * host); each step checks it. Steps run in order on one lab: placement and serving, scale up,
 * scale down, a SIGKILLed agent restarted (adoption), deletion, a slot moved off a lost node while
 * that node's exporter still runs; then a bring-up time of the same N
 * slots on two nodes and on one ({@code [measure]} lines); last, a second monitor is shown to catch
 * duplicates made on purpose with plain vblade.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TwoNodePoolE2E {
  private static final String NS = "default";
  private static final String POOL = "spread";
  private static final int SHELF = 9;
  private static final String NODE_B = "cowherd-e2e-node-b";
  /** Slots of the bring-up measurement, on two nodes and then on one (property {@code cowherd.twonode.slots}). */
  private static final int MEASURED_SLOTS = Integer.getInteger("cowherd.twonode.slots", 8);
  /** How many times the one-node and two-node bring-ups are measured (property {@code cowherd.twonode.pairs}). */
  private static final int MEASURED_PAIRS = Integer.getInteger("cowherd.twonode.pairs", 1);

  private Lab lab;
  private LabNode nodeB;
  private WireMonitor wire;
  private Map<String, MacAddress> macOf;
  private Map<String, Path> stateDirOf;
  private long wireStarted;

  @BeforeAll
  void startLab() throws Exception {
    lab = Lab.start(Path.of("target", workDirName()), 16, macvlanLinks() ? List.of("--exporter-links", "macvlan") : List.of());
    nodeB = lab.addNode(NODE_B);
    lab.awaitPlaceable(Lab.NODE);
    macOf = Map.of(Lab.NODE, MacAddress.parse(lab.exporterMac()), NODE_B, MacAddress.parse(nodeB.exporterMac()));
    assertThat(macOf.get(Lab.NODE)).as("two hosts, two NICs").isNotEqualTo(macOf.get(NODE_B));
    stateDirOf = Map.of(Lab.NODE, lab.scratch().stateDir(), NODE_B, nodeB.stateDir());
    wire = WireMonitor.start(lab.network().addClientNamespace(), "eth0", Duration.ofMillis(200));
    wireStarted = System.nanoTime();
  }

  /** Whether every agent of this lab gives each exporter a macvlan of its own ({@code --exporter-links macvlan}). */
  boolean macvlanLinks() {
    return false;
  }

  String workDirName() {
    return "e2e-two-nodes";
  }

  /**
   * The MAC {@code target} answers from when served by {@code node}: the node's NIC, or with macvlan
   * links the target's own (the agent's ExporterLinks: {@code 02:c0:77:<shelf>:<slot>}, the default
   * prefix), the same on either node.
   */
  private MacAddress answering(String node, AoeTarget target) {
    return macvlanLinks() ? MacAddress.parse(new io.cowherd.agent.host.ExporterLinks(
        io.cowherd.agent.host.ExporterLinks.Placement.MACVLAN, io.cowherd.agent.host.ExporterLinks.DEFAULT_PREFIX,
        Path.of("/sys"), null, "ip").mac(target.shelf(), target.slot())) : macOf.get(node);
  }

  /** Every exporter of the lab's segment: on its NIC, or on a link of its own ({@link Exporters#on}). */
  private List<Exporters.Exporter> segmentExporters() {
    return Exporters.on(lab.network().exporterInterface());
  }

  @AfterAll
  void stopLab() {
    if (wire != null) {
      wire.close();
    }
    if (lab != null) {
      lab.close();
    }
  }

  @Test
  @Order(1)
  void aPoolOfSixIsSpreadThreeAndThreeAndEachSlotIsServedByOneExporterOnItsNode() {
    lab.controlPlane().kubectlOk("apply", "-f", lab.writePoolYaml(POOL, SHELF, 6).toString());
    awaitServing(POOL, 6, Duration.ofSeconds(90));
    assertPlacedAndServed(6);
    assertThat(slotsPerNode(POOL)).isEqualTo(Map.of(Lab.NODE, 3L, NODE_B, 3L));
  }

  @Test
  @Order(2)
  void scalingUpToEightPlacesTheNewSlotsOnBothNodesAndLeavesEveryExporterRunning() {
    Map<Integer, Long> before = exporterPids();
    lab.controlPlane().kubectlOk("scale", "aoebootpool/" + POOL, "-n", NS, "--replicas=8");
    awaitServing(POOL, 8, Duration.ofSeconds(60));
    assertPlacedAndServed(8);
    assertThat(slotsPerNode(POOL)).isEqualTo(Map.of(Lab.NODE, 4L, NODE_B, 4L));
    assertThat(exporterPids()).as("no exporter restarted").containsAllEntriesOf(before);
  }

  @Test
  @Order(3)
  void scalingDownToThreeRemovesTheHighestSlotsFromTheNodesTheyWereOn() {
    Map<Integer, AoeBootSlot> before = slots(POOL).stream().collect(Collectors.toMap(s -> s.getSpec().getSlot(), s -> s));
    Map<Integer, Long> pids = exporterPids();
    lab.controlPlane().kubectlOk("scale", "aoebootpool/" + POOL, "-n", NS, "--replicas=3");
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      assertThat(slots(POOL)).extracting(s -> s.getSpec().getSlot()).containsExactly(0, 1, 2);
      assertThat(exporterPids()).containsOnlyKeys(0, 1, 2);
    });
    assertPlacedAndServed(3);
    for (int slot = 0; slot < 3; slot++) {
      assertThat(slots(POOL).get(slot).getSpec().getNodeName()).as("slot %d stays on its node", slot)
          .isEqualTo(before.get(slot).getSpec().getNodeName());
      assertThat(exporterPids().get(slot)).as("slot %d's exporter keeps running", slot).isEqualTo(pids.get(slot));
    }
    for (int slot = 3; slot < 8; slot++) {
      AoeBootSlot gone = before.get(slot);
      Path store = Path.of(gone.getStatus().getCowStorePath());
      assertThat(store).as("slot %d's COW store was in its node's state dir", slot)
          .startsWithRaw(stateDirOf.get(gone.getSpec().getNodeName()));
      assertThat(store).as("slot %d's COW store is removed from node %s", slot, gone.getSpec().getNodeName())
          .doesNotExist();
    }
  }

  @Test
  @Order(4)
  void aSigkilledAgentRestartedAdoptsItsSlotsWithoutRestartingAnExporter() {
    List<AoeBootSlot> onB = slots(POOL).stream().filter(s -> NODE_B.equals(s.getSpec().getNodeName())).toList();
    assertThat(onB).as("node B holds slots of the pool").isNotEmpty();
    Map<Integer, Long> pids = exporterPids();
    Map<Integer, Integer> restarts = slots(POOL).stream()
        .collect(Collectors.toMap(s -> s.getSpec().getSlot(), TwoNodePoolE2E::restarts));

    nodeB.agent().kill();
    assertThat(exporterPids()).as("exporters outlive their agent").isEqualTo(pids);
    long restarted = System.nanoTime();
    nodeB.startAgent();
    for (AoeBootSlot slot : onB) {
      int n = slot.getSpec().getSlot();
      nodeB.agent().awaitLogLine("slot " + NS + "/" + POOL + "/" + n + ": adopted running exporter pid " + pids.get(n),
          Duration.ofSeconds(60));
    }
    System.out.printf("[measure] two nodes: node B's agent SIGKILLed and restarted -> its %d slot(s) adopted: %.2f s%n",
        onB.size(), (System.nanoTime() - restarted) / 1e9);
    assertPlacedAndServed(3);
    assertThat(exporterPids()).as("no exporter restarted").isEqualTo(pids);
    assertThat(slots(POOL)).allSatisfy(s -> assertThat(restarts(s))
        .as("restarts of slot %d", s.getSpec().getSlot()).isEqualTo(restarts.get(s.getSpec().getSlot())));

    lab.controlPlane().kubectlOk("scale", "aoebootpool/" + POOL, "-n", NS, "--replicas=5");
    awaitServing(POOL, 5, Duration.ofSeconds(60));
    assertPlacedAndServed(5);
    assertThat(slotsPerNode(POOL)).as("the restarted agent takes new slots").containsKey(NODE_B);
  }

  @Test
  @Order(5)
  void deletingThePoolLeavesNoExporterOrCowStoreOnEitherNode() throws Exception {
    lab.controlPlane().kubectlOk("delete", "aoebootpool/" + POOL, "-n", NS, "--wait=false");
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      assertThat(slots(POOL)).isEmpty();
      assertThat(segmentExporters()).isEmpty();
    });
    assertThat(cowStoreFiles(lab.scratch().stateDir())).as("node A's state dir").isEmpty();
    assertThat(cowStoreFiles(nodeB.stateDir())).as("node B's state dir").isEmpty();
    assertThat(wire.nextRound().answers()).as("nothing answers on the segment").isEmpty();
    assertThat(wire.violations()).isEmpty();
  }

  /**
   * A slot moved off a lost host never runs beside the exporter that host left running: node B's
   * agent is SIGKILLed and its Node deleted, its slot abandoned ({@code cowherd.io/abandon-lost-data})
   * and recreated on node A; while B's exporter still answers, A's stays down; once it is gone
   * (the host "powered off": its vblade killed), A serves the slot. Node B then comes back (Node object,
   * agent) for the steps after.
   */
  @Test
  @Order(6)
  void aSlotMovedOffALostNodeWaitsUntilTheLostNodesExporterIsGone() throws Exception {
    String pool = "moved";
    int shelf = SHELF + 4;
    lab.controlPlane().kubectlOk("apply", "-f", lab.writePoolYaml(pool, shelf, 2).toString());
    awaitServing(pool, 2, Duration.ofSeconds(60));
    AoeBootSlot onB = slots(pool).stream().filter(s -> NODE_B.equals(s.getSpec().getNodeName())).findFirst().orElseThrow();
    AoeTarget target = new AoeTarget(shelf, onB.getSpec().getSlot());
    Exporters.Exporter left = segmentExporters().stream()
        .filter(e -> e.target().equals("e" + shelf + "." + target.slot())).findFirst().orElseThrow();

    try {
      nodeB.agent().kill();
      lab.controlPlane().kubectlOk("delete", "node", NODE_B);
      lab.controlPlane().kubectlOk("annotate", "aoebootslot/" + onB.getMetadata().getName(), "-n", NS,
          io.cowherd.api.SlotReclaim.ABANDON_ANNOTATION + "=" + io.cowherd.api.SlotReclaim.ABANDON_VALUE);
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
          assertThat(slots(pool)).filteredOn(s -> s.getSpec().getSlot() == target.slot()).singleElement().satisfies(s -> {
            assertThat(s.getMetadata().getUid()).isNotEqualTo(onB.getMetadata().getUid());
            assertThat(s.getSpec().getNodeName()).isEqualTo(Lab.NODE);
            assertThat(s.getStatus()).isNotNull();
            assertThat(s.getStatus().getPhase()).isNotNull();
          }));
      // Give node A's agent time to act on the recreated slot: it must hold back.
      long heldFrom = System.nanoTime();
      await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
          .untilAsserted(() -> {
            assertThat(exportersBySlot(shelf).get(target.slot())).as("only the lost host's exporter of %s", target)
                .extracting(Exporters.Exporter::pid).containsExactly(left.pid());
            assertThat(slotStatusPhase(pool, target.slot())).isNotEqualTo(SlotPhase.Serving);
          });
      AoeBootSlot held = slots(pool).stream().filter(s -> s.getSpec().getSlot() == target.slot()).findFirst().orElseThrow();
      System.out.printf("[measure] slot %s recreated on %s while %s's exporter still runs: %s (%s) for %.1f s%n", target,
          Lab.NODE, NODE_B, held.getStatus().getPhase(), held.getStatus().getMessage(), (System.nanoTime() - heldFrom) / 1e9);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(wire.nextRound().answers().get(target))
          .as("%s on the wire", target).containsExactly(answering(NODE_B, target)));

      ProcessHandle.of(left.pid()).ifPresent(ProcessHandle::destroyForcibly); // the lost host goes dark
      long gone = System.nanoTime();
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
        assertThat(slotStatusPhase(pool, target.slot())).isEqualTo(SlotPhase.Serving);
        assertThat(wire.nextRound().answers().get(target)).containsExactly(answering(Lab.NODE, target));
      });
      System.out.printf("[measure] lost host's exporter gone -> %s served from %s: %.2f s%n", target, Lab.NODE,
          (System.nanoTime() - gone) / 1e9);
      assertThat(wire.violations()).isEmpty();
      lab.controlPlane().kubectlOk("delete", "aoebootpool/" + pool, "-n", NS, "--wait=true", "--timeout=120s");
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
          assertThat(segmentExporters()).isEmpty());
    } finally {
      if (lab.controlPlane().client().nodes().withName(NODE_B).get() == null) {
        lab.controlPlane().createReadyNode(NODE_B, Map.of("kubernetes.io/hostname", NODE_B));
      }
      if (!nodeB.agent().isAlive()) {
        nodeB.startAgent();
      }
      lab.awaitPlaceable(NODE_B);
    }
  }

  private SlotPhase slotStatusPhase(String pool, int slot) {
    return slots(pool).stream().filter(s -> s.getSpec().getSlot() == slot).findFirst()
        .map(s -> s.getStatus() == null ? null : s.getStatus().getPhase()).orElse(null);
  }

  /**
   * The same N slots brought up on one node (node B cordoned) and on two, {@link #MEASURED_PAIRS}
   * times: from {@code kubectl apply} until each node's last slot is Serving, and each agent's CPU
   * seconds per slot. Prints the figures; asserts only that every run completes and the two-node
   * runs use both nodes. Both simulated hosts share this machine's cores, the API server and the
   * operator, so two nodes are not expected to be twice as fast here; per-slot agent CPU is what a
   * node pays wherever it runs.
   */
  @Test
  @Order(7)
  void measureBringUpOfTheSameSlotsOnOneNodeAndOnTwo() {
    int shelf = SHELF + 10;
    for (int pair = 1; pair <= MEASURED_PAIRS; pair++) {
      lab.controlPlane().kubectlOk("cordon", NODE_B);
      BringUp one;
      try {
        one = bringUp("one", shelf++, MEASURED_SLOTS);
      } finally {
        lab.controlPlane().kubectlOk("uncordon", NODE_B);
      }
      assertThat(one.lastServing()).containsOnlyKeys(Lab.NODE);
      BringUp two = bringUp("two", shelf++, MEASURED_SLOTS);
      assertThat(two.lastServing()).containsOnlyKeys(Lab.NODE, NODE_B);
      double oneRate = MEASURED_SLOTS / one.all();
      StringBuilder perNode = new StringBuilder();
      two.lastServing().forEach((node, seconds) -> {
        long slots = two.slotsPerNode().get(node);
        perNode.append(String.format("; node %s: %d slots by %.2f s (%.1f slots/s, %.2f of one node's rate),"
            + " agent CPU %.1f ms/slot", node, slots, seconds, slots / seconds, slots / seconds / oneRate,
            1000 * two.agentCpu().get(node) / slots));
      });
      System.out.printf("[measure] bring-up %d of %d slots (kubectl apply -> all Serving, load %.1f): one node %.2f s"
              + " (%.1f slots/s, agent CPU %.1f ms/slot), two nodes %.2f s (two/one %.2f)%s%n",
          pair, MEASURED_SLOTS, load1(), one.all(), oneRate, 1000 * one.agentCpu().get(Lab.NODE) / MEASURED_SLOTS,
          two.all(), two.all() / one.all(), perNode);
    }
  }

  @Test
  @Order(8)
  void theWireNeverShowedTwoExportersOfOneTargetDuringTheWholeRun() {
    long rounds = wire.rounds();
    double seconds = (System.nanoTime() - wireStarted) / 1e9;
    System.out.printf("[measure] wire monitor: %d Query Config rounds in %.1f s, %d duplicate(s)%n", rounds, seconds,
        wire.violations().size());
    assertThat(rounds).as("the monitor ran throughout (a round every 200 ms, at least 2 per second)")
        .isGreaterThanOrEqualTo((long) (seconds * 2));
    assertThat(wire.violations()).isEmpty();
    wire.close(); // the next step starts duplicates on purpose
  }

  /**
   * The check above can fail: a second monitor sees two plain vblades of one target on one NIC
   * (one MAC answering twice) and then on two NICs (two MACs).
   */
  @Test
  @Order(9)
  void theWireMonitorCatchesTwoExportersOfOneTargetOnOneNicAndOnTwo() throws Exception {
    AoeTarget rogue = new AoeTarget(SHELF + 3, 0);
    String nic1 = lab.network().addExporterInterface();
    String nic2 = lab.network().addExporterInterface();
    Path logs = Path.of("target", "e2e-two-nodes", "logs");
    try (WireMonitor check = WireMonitor.start(lab.network().addClientNamespace(), "eth0", Duration.ofMillis(200));
        PlainVblade first = PlainVblade.startReadOnly(rogue, nic1, lab.originImage(), logs.resolve("rogue-1.log"))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> check.nextRound().answers().containsKey(rogue));
      assertThat(check.violations()).as("one exporter is no duplicate").isEmpty();
      MacAddress mac1 = MacAddress.parse(Files.readString(Path.of("/sys/class/net", nic1, "address")).strip());
      MacAddress mac2 = MacAddress.parse(Files.readString(Path.of("/sys/class/net", nic2, "address")).strip());
      try (PlainVblade second = PlainVblade.startReadOnly(rogue, nic1, lab.originImage(), logs.resolve("rogue-2.log"))) {
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(check.violations())
            .anySatisfy(d -> assertThat(d.macs()).containsExactly(mac1, mac1)));
      }
      try (PlainVblade third = PlainVblade.startReadOnly(rogue, nic2, lab.originImage(), logs.resolve("rogue-3.log"))) {
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(check.violations())
            .anySatisfy(d -> assertThat(d.macs()).containsExactlyInAnyOrder(mac1, mac2)));
      }
      assertThat(check.violations()).allSatisfy(d -> assertThat(d.target()).isEqualTo(rogue));
    }
  }

  /**
   * One bring-up: seconds from apply until all slots were Serving, until each node's last slot was,
   * slots per node, and each node agent's CPU seconds meanwhile.
   */
  private record BringUp(double all, Map<String, Double> lastServing, Map<String, Long> slotsPerNode,
      Map<String, Double> agentCpu) {}

  /** Applies pool {@code name} of {@code n} slots, waits for all Serving (polling every 50 ms), deletes it. */
  private BringUp bringUp(String name, int shelf, int n) {
    Map<String, Double> cpuBefore = Map.of(Lab.NODE, lab.agent().cpuSeconds(), NODE_B, nodeB.agent().cpuSeconds());
    long started = System.nanoTime();
    lab.controlPlane().kubectlOk("apply", "-f", lab.writePoolYaml(name, shelf, n).toString());
    Map<String, Double> lastServing = new TreeMap<>();
    double[] all = new double[1];
    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
      List<AoeBootSlot> slots = slots(name);
      double now = (System.nanoTime() - started) / 1e9;
      assertThat(slots).hasSize(n);
      slots.stream().collect(Collectors.groupingBy(s -> s.getSpec().getNodeName())).forEach((node, onNode) -> {
        if (onNode.stream().allMatch(TwoNodePoolE2E::serving)) {
          lastServing.putIfAbsent(node, now);
        } else {
          lastServing.remove(node);
        }
      });
      assertThat(slots).allMatch(TwoNodePoolE2E::serving);
      all[0] = now;
    });
    Map<String, Double> cpu = Map.of(Lab.NODE, lab.agent().cpuSeconds() - cpuBefore.get(Lab.NODE),
        NODE_B, nodeB.agent().cpuSeconds() - cpuBefore.get(NODE_B));
    Map<String, Long> perNode = slotsPerNode(name);
    assertThat(wire.violations()).isEmpty();
    lab.controlPlane().kubectlOk("delete", "aoebootpool/" + name, "-n", NS, "--wait=true", "--timeout=120s");
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      assertThat(slots(name)).isEmpty();
      assertThat(segmentExporters()).isEmpty();
    });
    return new BringUp(all[0], lastServing, perNode, cpu);
  }

  private static double load1() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Slots 0..n-1 exist, each Serving on one of the two nodes; each has exactly one exporter on this
   * machine, in its node's network namespace and serving from its node's state dir; no other exporter
   * runs on the segment's NIC name; on the wire every target answers once, from its node's MAC; and
   * the monitor has seen no duplicate.
   */
  private void assertPlacedAndServed(int n) {
    List<AoeBootSlot> slots = slots(POOL);
    assertThat(slots).extracting(s -> s.getSpec().getSlot()).containsExactlyElementsOf(IntStream.range(0, n).boxed().toList());
    Map<String, String> netnsOf = Map.of(Lab.NODE, netnsOfPid(lab.agent().pid()), NODE_B, netnsOfPid(nodeB.agent().pid()));
    Map<Integer, List<Exporters.Exporter>> exporters = exportersBySlot();
    assertThat(exporters).as("exporters on the segment's NIC name").containsOnlyKeys(IntStream.range(0, n).boxed().toList());
    Map<AoeTarget, List<MacAddress>> expected = new TreeMap<>();
    for (AoeBootSlot slot : slots) {
      int number = slot.getSpec().getSlot();
      String node = slot.getSpec().getNodeName();
      assertThat(slot.getStatus().getPhase()).as("slot %d", number).isEqualTo(SlotPhase.Serving);
      assertThat(macOf).as("slot %d is placed on one of the two nodes", number).containsKey(node);
      assertThat(exporters.get(number)).as("exporters of slot %d", number).singleElement().satisfies(e -> {
        assertThat(Path.of(e.path())).as("slot %d serves from node %s's state dir", number, node)
            .startsWithRaw(stateDirOf.get(node));
        assertThat(netnsOfPid(e.pid())).as("slot %d's exporter runs in node %s's network namespace", number, node)
            .isEqualTo(netnsOf.get(node));
      });
      expected.put(new AoeTarget(SHELF, number), List.of(answering(node, new AoeTarget(SHELF, number))));
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(wire.nextRound().answers()).as("Query Config answers on the wire").isEqualTo(expected));
    assertThat(wire.violations()).as("duplicates seen on the wire so far").isEmpty();
  }

  private static String netnsOfPid(long pid) {
    try {
      return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", "net")).toString();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("network namespace of pid " + pid, e);
    }
  }

  private Map<Integer, List<Exporters.Exporter>> exportersBySlot() {
    return exportersBySlot(SHELF);
  }

  private Map<Integer, List<Exporters.Exporter>> exportersBySlot(int shelf) {
    return segmentExporters().stream().filter(e -> e.shelf() == shelf)
        .collect(Collectors.groupingBy(Exporters.Exporter::slot));
  }

  private Map<Integer, Long> exporterPids() {
    Map<Integer, Long> pids = new HashMap<>();
    exportersBySlot().forEach((slot, list) -> {
      assertThat(list).as("exporters of slot %d", slot).hasSize(1);
      pids.put(slot, list.getFirst().pid());
    });
    return pids;
  }

  private Map<String, Long> slotsPerNode(String pool) {
    return slots(pool).stream().collect(Collectors.groupingBy(s -> s.getSpec().getNodeName(), Collectors.counting()));
  }

  private void awaitServing(String pool, int n, Duration limit) {
    await().atMost(limit).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
        assertThat(slots(pool)).hasSize(n).allMatch(TwoNodePoolE2E::serving));
  }

  private static int restarts(AoeBootSlot slot) {
    Integer restarts = slot.getStatus().getRestarts();
    return restarts == null ? 0 : restarts;
  }

  private static boolean serving(AoeBootSlot slot) {
    return slot.getStatus() != null && slot.getStatus().getPhase() == SlotPhase.Serving;
  }

  private List<AoeBootSlot> slots(String pool) {
    return lab.controlPlane().client().resources(AoeBootSlot.class).inNamespace(NS).withLabel(Names.POOL_LABEL, pool)
        .list().getItems().stream().sorted(Comparator.comparingInt(s -> s.getSpec().getSlot())).toList();
  }

  private static List<Path> cowStoreFiles(Path stateDir) throws Exception {
    try (Stream<Path> files = Files.walk(stateDir)) {
      // Dot-files are the agent's node lock files (.cowherd-agent.lock, .losetup.lock), not COW data.
      return files.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).toList();
    }
  }
}
