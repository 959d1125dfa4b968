package io.cowherd.agent.export;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.host.FakeCommandRunner;
import io.cowherd.agent.host.Nft;
import io.cowherd.agent.host.SlotId;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The guard's lifecycle against scripted nft answers: exact argv, no host touched. */
public class IngressGuardTest {
  private static final List<String> LIST = List.of("nft", "-j", "list", "table", "netdev", "cowherd_eth1");
  private static final String MISSING = "Error: No such file or directory\nlist table netdev cowherd_eth1";

  private final FakeCommandRunner nft = new FakeCommandRunner();
  private final List<SlotId> told = new ArrayList<>();
  private final SlotId a = new SlotId("lab", "debian", 1);
  private final SlotId b = new SlotId("lab", "debian", 2);

  private IngressGuard guard() {
    return new IngressGuard(new Nft(nft, "nft"), Clock.systemUTC(), told::add, Optional.empty());
  }

  /** nft -j output of our table with the given counters and offenders. */
  public static String table(long mask, long reserve, long config, String... offenders) {
    StringBuilder elems = new StringBuilder();
    for (String o : offenders) {
      elems.append(elems.isEmpty() ? "" : ",").append("{\"elem\":{\"val\":\"").append(o).append("\",\"expires\":3599}}");
    }
    return """
        {"nftables":[{"metainfo":{"version":"1.0.6","json_schema_version":1}},
        {"table":{"family":"netdev","name":"cowherd_eth1","handle":1}},
        {"set":{"family":"netdev","name":"offenders","table":"cowherd_eth1","type":"ether_addr","flags":["timeout"],"timeout":3600%s}},
        {"chain":{"family":"netdev","table":"cowherd_eth1","name":"ingress","type":"filter","hook":"ingress","prio":-500,"policy":"accept"}},
        %s,%s,%s%s]}""".formatted(offenders.length == 0 ? "" : ",\"elem\":[" + elems + "]",
        rule("mask-list", mask), rule("reserve-release", reserve), rule("config-set", config),
        IngressGuard.RULE_COMMENTS.stream().filter(c -> !IngressGuard.RULES.subList(0, 3).contains(c))
            .map(c -> "," + rule(c, 0)).collect(java.util.stream.Collectors.joining()));
  }

  private static String rule(String comment, long packets) {
    return "{\"rule\":{\"family\":\"netdev\",\"table\":\"cowherd_eth1\",\"chain\":\"ingress\",\"comment\":\"" + comment
        + "\",\"expr\":[{\"counter\":{\"packets\":" + packets + ",\"bytes\":0}},{\"drop\":null}]}}";
  }

  @Test
  void firstSlotInstallsTheTableBeforeAnythingElse() {
    nft.failOnce(LIST, 1, MISSING).on(List.of("nft", "-f"), "").on(LIST, table(0, 0, 0));

    GuardState s = guard().ensure(a, "eth1");

    assertThat(s.active()).isTrue();
    assertThat(s.summary()).startsWith("on: nftables netdev table cowherd_eth1 drops");
    assertThat(nft.argvs()).hasSize(3);
    assertThat(nft.argvs().get(1).subList(0, 2)).containsExactly("nft", "-f");
  }

  @Test
  void rulesetDropsOnlyControlRequestsOnTheInterfaceAndReplacesAtomically() {
    String r = IngressGuard.ruleset("cowherd_eth1", "eth1");
    assertThat(r).startsWith("table netdev cowherd_eth1\ndelete table netdev cowherd_eth1\n");
    assertThat(r).contains("type filter hook ingress device \"eth1\" priority -500; policy accept;");
    assertThat(r).contains("ether type 0x88a2 @ll,116,1 0 @ll,152,8 2 update @offenders { ether saddr }\n");
    assertThat(r).contains("ether type 0x88a2 @ll,116,1 0 @ll,152,8 2 counter drop comment \"mask-list\"\n");
    assertThat(r).contains("@ll,152,8 3 counter drop");
    assertThat(r).contains("@ll,152,8 1 @ll,236,4 { 3, 4 } counter drop");
    assertThat(r).contains("{ type ether_addr; size 1024; flags dynamic,timeout; timeout 3600s; }");
  }

  @Test
  void rulesetAlsoDropsControlRequestsBehindVlanTags() {
    String r = IngressGuard.ruleset("cowherd_eth1", "eth1");
    String tpids = "@ll,96,16 { 0x8100, 0x88a8 }";
    assertThat(r).contains(tpids + " @ll,128,16 0x88a2 @ll,148,1 0 @ll,184,8 2 counter drop comment \"mask-list tagged\"");
    assertThat(r).contains(tpids + " @ll,128,16 0x88a2 @ll,148,1 0 @ll,184,8 1 @ll,268,4 { 3, 4 } counter drop");
    assertThat(r).contains(tpids + " @ll,116,12 0 @ll,128,16 { 0x8100, 0x88a8 } @ll,160,16 0x88a2 @ll,180,1 0 "
        + "@ll,216,8 3 counter drop comment \"reserve-release double-tagged\"");
    assertThat(r).contains(tpids + " @ll,116,12 0 @ll,128,16 { 0x8100, 0x88a8 } @ll,148,12 0 counter drop comment "
        + "\"stacked-priority-tags\"");
    assertThat(IngressGuard.RULE_COMMENTS).hasSize(10).allSatisfy(c -> assertThat(r).contains("comment \"" + c + "\""));
  }

  @Test
  void senderIsNotedByARuleOfItsOwnSoAFullSetNeverStopsADrop() {
    List<String> lines = IngressGuard.ruleset("cowherd_eth1", "eth1").lines().map(String::strip).toList();
    List<String> drops = lines.stream().filter(l -> l.contains(" drop ")).toList();
    assertThat(drops).hasSize(IngressGuard.RULE_COMMENTS.size()).noneMatch(l -> l.contains("update"));
    for (String drop : drops) {
      String match = drop.substring(0, drop.indexOf(" counter drop"));
      assertThat(lines).as("the rule before: %s", drop)
          .element(lines.indexOf(drop) - 1).isEqualTo(match + " update @offenders { ether saddr }");
    }
  }

  @Test
  void everyInterfaceNameTheCrdAdmitsIsGuarded() {
    List<String> list = List.of("nft", "-j", "list", "table", "netdev", "cowherd__boot");
    nft.failOnce(list, 1, MISSING.replace("cowherd_eth1", "cowherd__boot")).on(List.of("nft", "-f"), "")
        .on(list, table(0, 0, 0).replace("cowherd_eth1", "cowherd__boot"));

    GuardState s = guard().ensure(a, "_boot"); // spec.interface pattern: ^[A-Za-z0-9_][A-Za-z0-9._-]{0,14}$

    assertThat(s.active()).as(s.message()).isTrue();
  }

  @Test
  void tableOfAnOlderAgentWithoutTheTaggedRulesIsReplaced() {
    String old = table(0, 0, 0);
    for (String c : IngressGuard.RULE_COMMENTS.stream().filter(c -> !IngressGuard.RULES.subList(0, 3).contains(c)).toList()) {
      old = old.replace("," + rule(c, 0), "");
    }
    assertThat(old).doesNotContain("tagged");
    nft.once(LIST, old).on(List.of("nft", "-f"), "").on(LIST, table(0, 0, 0));

    assertThat(guard().ensure(a, "eth1").active()).isTrue();

    assertThat(nft.argvs().stream().filter(v -> v.get(1).equals("-f"))).hasSize(1);
  }

  @Test
  void removedTableIsInstalledAgainAndCountsNeverGoBack() {
    nft.once(LIST, table(0, 0, 0)).once(LIST, table(5, 1, 0, "02:cc:00:00:00:01"))
        .failOnce(LIST, 1, MISSING).on(List.of("nft", "-f"), "").on(LIST, table(2, 0, 0, "02:cc:00:00:00:02"));
    IngressGuard guard = guard();
    guard.ensure(a, "eth1");

    guard.poll(); // counters grew: the slot is told
    assertThat(told).containsExactly(a);
    assertThat(guard.state("eth1").orElseThrow().offenders()).containsExactly("02:cc:00:00:00:01");

    guard.poll(); // someone deleted the table: installed again, earlier counts kept
    GuardState s = guard.state("eth1").orElseThrow();
    assertThat(s.active()).isTrue();
    assertThat(s.droppedFrames()).containsEntry("mask-list", 7L).containsEntry("reserve-release", 1L);
    assertThat(nft.argvs().stream().filter(v -> v.get(1).equals("-f"))).hasSize(1);
  }

  @Test
  void lastSlotOnTheInterfaceRemovesTheTable() {
    nft.on(LIST, table(0, 0, 0)).on(List.of("nft", "delete"), "");
    IngressGuard guard = guard();
    guard.ensure(a, "eth1");
    guard.ensure(b, "eth1");

    guard.release(a);
    assertThat(nft.argvs()).noneMatch(v -> v.contains("delete"));
    guard.release(b);

    assertThat(nft.argvs().getLast()).containsExactly("nft", "delete", "table", "netdev", "cowherd_eth1");
    assertThat(guard.states()).isEmpty();
  }

  @Test
  void slotMovedToAnotherInterfaceReleasesTheOldOne() {
    nft.on(LIST, table(0, 0, 0)).on(List.of("nft", "-j", "list", "table", "netdev", "cowherd_eth2"),
        table(0, 0, 0).replace("cowherd_eth1", "cowherd_eth2")).on(List.of("nft", "delete"), "");
    IngressGuard guard = guard();
    guard.ensure(a, "eth1");

    guard.ensure(a, "eth2");

    assertThat(nft.argvs()).contains(List.of("nft", "delete", "table", "netdev", "cowherd_eth1"));
    assertThat(guard.states()).extracting(GuardState::iface).containsExactly("eth2");
  }

  @Test
  void kernelRefusingTheTableLeavesTheGuardOffWithTheReason() {
    nft.failOnce(LIST, 1, MISSING).fail(List.of("nft", "-f"), 1,
        "Error: Could not process rule: Operation not supported");

    GuardState s = guard().ensure(a, "eth1");

    assertThat(s.active()).isFalse();
    assertThat(s.summary()).startsWith("off: ingress guard off on eth1: ").contains("Operation not supported");
  }

  @Test
  void switchedOffGuardRunsNoCommand() {
    GuardState s = new IngressGuard(new Nft(nft, "nft"), Clock.systemUTC(), told::add, Optional.of("disabled by test"))
        .ensure(a, "eth1");

    assertThat(s.summary()).isEqualTo("off: disabled by test");
    assertThat(nft.argvs()).isEmpty();
  }
}
