package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exporter-link rule without a kernel: link names and MACs derived from the AoE address, the
 * MAC prefix and placement parsing, {@link ExporterLinks#bindFor} under both placements, {@link
 * ExporterLinks#nicOf} and {@link ExporterLinks#list} against a fake sysfs in a temporary directory
 * ({@code class/net/<link>/address} and its {@code lower_<nic>} entry, as the kernel makes them), and
 * the {@code ip} argument vectors of {@link ExporterLinks#ensure} and {@link ExporterLinks#delete} run
 * through a {@link FakeCommandRunner} that records them and answers {@code ip -d -j link show} with
 * the compact JSON iproute2 prints, so that a link is only ever deleted when it is a macvlan with
 * the derived MAC.
 */
class ExporterLinksTest {
  @TempDir Path sys;
  private final FakeCommandRunner runner = new FakeCommandRunner();

  private ExporterLinks macvlan() {
    return new ExporterLinks(ExporterLinks.Placement.MACVLAN, ExporterLinks.DEFAULT_PREFIX, sys, runner, "ip");
  }

  /** A fake {@code /sys/class/net/<name>} with {@code address} and one {@code lower_<nic>} entry per NIC. */
  private Path iface(String name, String address, String... lowerNics) throws IOException {
    Path dir = Files.createDirectories(sys.resolve("class/net").resolve(name));
    Files.writeString(dir.resolve("address"), address + "\n");
    for (String nic : lowerNics) {
      Files.createDirectories(dir.resolve("lower_" + nic));
    }
    return dir;
  }

  /**
   * {@link #runner} plus what the kernel does to sysfs: {@code ip link del} drops {@code
   * class/net/cw000703}, and {@code ip link add} makes it with lower device {@code addedOn} (none if null).
   */
  private CommandRunner kernel(String addedOn) {
    return command -> {
      CommandResult result = runner.run(command);
      try {
        if (addedOn != null && command.argv().contains("add")) {
          iface("cw000703", "02:c0:77:00:07:03", addedOn);
        } else if (command.argv().contains("del")) {
          Files.walk(sys.resolve("class/net/cw000703")).sorted(java.util.Comparator.reverseOrder())
              .forEach(p -> p.toFile().delete());
        }
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return result;
    };
  }

  /** What {@code ip -d -j link show dev <name>} prints (one line of compact JSON). */
  private static String shown(String name, String address, String kind) {
    return "[{\"ifindex\":4,\"ifname\":\"" + name + "\",\"flags\":[\"BROADCAST\",\"MULTICAST\",\"UP\",\"LOWER_UP\"],"
        + "\"mtu\":1500,\"qdisc\":\"noqueue\",\"operstate\":\"UP\",\"link_type\":\"ether\",\"address\":\"" + address
        + "\",\"broadcast\":\"ff:ff:ff:ff:ff:ff\",\"linkinfo\":{\"info_kind\":\"" + kind
        + "\",\"info_data\":{\"mode\":\"bridge\"}}}]\n";
  }

  @Test
  void namesAreCwShelfInFourHexDigitsSlotInTwoAlwaysEightCharacters() {
    assertThat(ExporterLinks.name(7, 3)).isEqualTo("cw000703");
    assertThat(ExporterLinks.name(65534, 254)).isEqualTo("cwfffefe");
    assertThat(ExporterLinks.name(0, 0)).isEqualTo("cw000000");
    assertThat(ExporterLinks.name(4096, 16)).isEqualTo("cw100010");
    for (int shelf : new int[] {0, 1, 15, 16, 255, 256, 4095, 4096, 65534}) {
      for (int slot : new int[] {0, 1, 15, 16, 254}) {
        assertThat(ExporterLinks.name(shelf, slot)).as("e%d.%d", shelf, slot).hasSize(8)
            .matches("cw[0-9a-f]{6}");
        assertThat(ExporterLinks.isLinkName(ExporterLinks.name(shelf, slot))).isTrue();
      }
    }
  }

  @Test
  void onlyCwAndSixLowerCaseHexDigitsIsALinkName() {
    assertThat(ExporterLinks.isLinkName("cw000703")).isTrue();
    assertThat(ExporterLinks.isLinkName("cwfffefe")).isTrue();
    assertThat(ExporterLinks.isLinkName(null)).isFalse();
    assertThat(ExporterLinks.isLinkName("")).isFalse();
    assertThat(ExporterLinks.isLinkName("eth1")).isFalse();
    assertThat(ExporterLinks.isLinkName("cw")).isFalse();
    assertThat(ExporterLinks.isLinkName("cw00070")).as("five digits").isFalse();
    assertThat(ExporterLinks.isLinkName("cw0007030")).as("seven digits").isFalse();
    assertThat(ExporterLinks.isLinkName("cw00070g")).as("not hex").isFalse();
    assertThat(ExporterLinks.isLinkName("CW000703")).isFalse();
    assertThat(ExporterLinks.isLinkName("cwFFFEFE")).as("names are lower case").isFalse();
    assertThat(ExporterLinks.isLinkName("xcw000703")).isFalse();
  }

  @Test
  void theMacIsLocallyAdministeredUnicastWithThePrefixShelfAndSlot() {
    ExporterLinks links = macvlan();
    assertThat(links.mac(7, 3)).isEqualTo("02:c0:77:00:07:03");
    assertThat(links.mac(65534, 254)).isEqualTo("02:c0:77:ff:fe:fe");
    assertThat(links.mac(4660, 16)).isEqualTo("02:c0:77:12:34:10");
    for (int shelf : new int[] {0, 255, 256, 65534}) {
      for (int slot : new int[] {0, 254}) {
        String mac = links.mac(shelf, slot);
        assertThat(mac).matches("([0-9a-f]{2}:){5}[0-9a-f]{2}");
        int first = Integer.parseInt(mac.substring(0, 2), 16);
        assertThat(first & 0x02).as("U/L bit of %s: locally administered", mac).isEqualTo(0x02);
        assertThat(first & 0x01).as("I/G bit of %s: unicast", mac).isZero();
      }
    }
    assertThat(new ExporterLinks(ExporterLinks.Placement.MACVLAN, "0a:1b", sys, runner, "ip").mac(7, 3))
        .isEqualTo("02:0a:1b:00:07:03");
  }

  @Test
  void thePrefixMustBeTwoHexBytesAndIsLowerCased() {
    for (String bad : new String[] {null, "", "c0", "c0:77:00", "c0-77", "c077", "g0:77", "c0:7", " : ", "c0::77"}) {
      assertThatThrownBy(() -> new ExporterLinks(ExporterLinks.Placement.MACVLAN, bad, sys, runner, "ip"))
          .as("prefix '%s'", bad).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prefix");
    }
    ExporterLinks upper = new ExporterLinks(ExporterLinks.Placement.MACVLAN, "AB:Cd", sys, runner, "ip");
    assertThat(upper.mac(7, 3)).isEqualTo("02:ab:cd:00:07:03");
    assertThat(new ExporterLinks(ExporterLinks.Placement.MACVLAN, " c0:77 ", sys, runner, "ip").mac(7, 3))
        .as("surrounding blanks are stripped").isEqualTo("02:c0:77:00:07:03");
  }

  @Test
  void placementParsesSharedAndMacvlanInAnyCaseAndNothingElse() {
    assertThat(ExporterLinks.Placement.parse("shared")).isEqualTo(ExporterLinks.Placement.SHARED);
    assertThat(ExporterLinks.Placement.parse("MACVLAN")).isEqualTo(ExporterLinks.Placement.MACVLAN);
    assertThat(ExporterLinks.Placement.parse(" MacVlan\n")).isEqualTo(ExporterLinks.Placement.MACVLAN);
    for (String bad : new String[] {null, "", "macvtap", "ipvlan", "shared,macvlan"}) {
      assertThatThrownBy(() -> ExporterLinks.Placement.parse(bad)).as("'%s'", bad)
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'shared' or 'macvlan'");
    }
  }

  @Test
  void bindForIsTheNicWhenSharedAndTheLinkWithMacvlans() {
    assertThat(ExporterLinks.shared(sys).bindFor("eth1", 7, 3)).isEqualTo("eth1");
    assertThat(ExporterLinks.shared(sys).placement()).isEqualTo(ExporterLinks.Placement.SHARED);
    assertThat(macvlan().bindFor("eth1", 7, 3)).isEqualTo("cw000703");
    assertThat(macvlan().bindFor("eth2", 65534, 254)).isEqualTo("cwfffefe");
    assertThat(macvlan().placement()).isEqualTo(ExporterLinks.Placement.MACVLAN);
  }

  @Test
  void nicOfIsTheOneLowerDeviceOfALinkWithTheDerivedMac() throws IOException {
    ExporterLinks links = macvlan();
    iface("cw000703", "02:c0:77:00:07:03", "eth1");
    assertThat(links.nicOf("cw000703")).contains("eth1");

    iface("cw000704", "02:C0:77:00:07:04", "eth2");
    assertThat(links.nicOf("cw000704")).as("sysfs case does not matter").contains("eth2");

    iface("cw000705", "02:c0:77:00:07:06", "eth1");
    assertThat(links.nicOf("cw000705")).as("another target's MAC").isEmpty();

    iface("cw000706", "52:54:00:12:34:56", "eth1");
    assertThat(links.nicOf("cw000706")).as("someone else's interface").isEmpty();

    iface("cw000707", "02:c0:77:00:07:07", "eth1", "eth2");
    assertThat(links.nicOf("cw000707")).as("two lower devices").isEmpty();

    iface("cw000708", "02:c0:77:00:07:08");
    assertThat(links.nicOf("cw000708")).as("no lower device").isEmpty();

    assertThat(links.nicOf("cw000709")).as("no such link").isEmpty();
    Files.createDirectories(sys.resolve("class/net/cw00070a/lower_eth1"));
    assertThat(links.nicOf("cw00070a")).as("no address file").isEmpty();

    iface("eth1", "02:c0:77:00:07:03", "bond0");
    assertThat(links.nicOf("eth1")).as("not named like a link").isEmpty();
    assertThat(links.nicOf(null)).isEmpty();
    assertThat(links.nicOf("cw000703x")).isEmpty();

    assertThat(new ExporterLinks(ExporterLinks.Placement.MACVLAN, "0a:0b", sys, runner, "ip").nicOf("cw000703"))
        .as("the MAC of another prefix").isEmpty();
    assertThat(runner.argvs()).as("nicOf reads sysfs only").isEmpty();
  }

  @Test
  void ensureAddsAMacvlanInBridgeModeThenTurnsOffAddressGenerationThenBringsItUp() {
    runner.on(List.of("ip"), "");
    macvlan().ensure("eth1", 7, 3, "cw000703");
    assertThat(runner.argvs()).containsExactly(
        List.of("ip", "link", "add", "link", "eth1", "name", "cw000703", "address", "02:c0:77:00:07:03", "type",
            "macvlan", "mode", "bridge"),
        List.of("ip", "link", "set", "dev", "cw000703", "addrgenmode", "none"),
        List.of("ip", "link", "set", "dev", "cw000703", "up"));
  }

  @Test
  void ensureBringsTheLinkUpEvenWhenAddrgenmodeIsRefused() {
    runner.failOnce(List.of("ip", "link", "set", "dev", "cw000703", "addrgenmode"), 2,
        "Error: ipv6: IPv6 is disabled on this device.\n");
    runner.on(List.of("ip"), "");
    macvlan().ensure("eth1", 7, 3, "cw000703");
    assertThat(runner.argvs()).hasSize(3).last().isEqualTo(List.of("ip", "link", "set", "dev", "cw000703", "up"));
  }

  @Test
  void ensureAddsNothingWhenTheLinkIsAlreadyOnThatNic() throws IOException {
    Path dir = iface("cw000703", "02:c0:77:00:07:03", "eth1");
    Files.writeString(dir.resolve("flags"), "0x1003\n"); // IFF_UP
    runner.on(List.of("ip"), "");
    macvlan().ensure("eth1", 7, 3, "cw000703");
    assertThat(runner.argvs()).as("up already").isEmpty();

    Files.writeString(dir.resolve("flags"), "0x1002\n"); // down
    macvlan().ensure("eth1", 7, 3, "cw000703");
    assertThat(runner.argvs()).as("down: no IPv6 address, then up").containsExactly(
        List.of("ip", "link", "set", "dev", "cw000703", "addrgenmode", "none"),
        List.of("ip", "link", "set", "dev", "cw000703", "up"));
  }

  @Test
  void ensureGivesAnExistingLinkTheNicsMtu() throws IOException {
    Path dir = iface("cw000703", "02:c0:77:00:07:03", "eth1");
    Files.writeString(dir.resolve("flags"), "0x1003\n");
    Files.writeString(dir.resolve("mtu"), "1500\n");
    Files.writeString(iface("eth1", "52:54:00:00:00:01").resolve("mtu"), "9000\n");
    runner.on(List.of("ip"), "");
    macvlan().ensure("eth1", 7, 3, "cw000703");
    assertThat(runner.argvs()).containsExactly(List.of("ip", "link", "set", "dev", "cw000703", "mtu", "9000"));
  }

  @Test
  void ensureRefusesANicThatIsItselfAMacvlanAndLeavesNoLinkBehind() throws IOException {
    // The kernel puts the new macvlan on the NIC's own lower device (veth0), not on the NIC.
    CommandRunner kernel = kernel("veth0");
    runner.on(List.of("ip", "-d", "-j", "link", "show"), shown("cw000703", "02:c0:77:00:07:03", "macvlan"));
    runner.on(List.of("ip"), "");
    ExporterLinks links = new ExporterLinks(ExporterLinks.Placement.MACVLAN, ExporterLinks.DEFAULT_PREFIX, sys, kernel, "ip");
    assertThatThrownBy(() -> links.ensure("mv0", 7, 3, "cw000703")).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("mv0 is itself a macvlan");
    assertThat(runner.argvs()).contains(List.of("ip", "link", "del", "dev", "cw000703"))
        .noneMatch(a -> a.contains("up"));
    assertThat(sys.resolve("class/net/cw000703")).doesNotExist();
  }

  @Test
  void ensureRefusesAForeignInterfaceOfTheLinksName() throws IOException {
    iface("cw000703", "52:54:00:12:34:56");
    runner.on(List.of("ip", "-d", "-j", "link", "show"), shown("cw000703", "52:54:00:12:34:56", "bridge"));
    runner.on(List.of("ip"), "");
    assertThatThrownBy(() -> macvlan().ensure("eth1", 7, 3, "cw000703")).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("is no cowherd exporter link");
    assertThat(runner.argvs()).noneMatch(a -> a.contains("add") || a.contains("del"));
  }

  @Test
  void ensureRecreatesALinkOfThatNameOnAnotherNic() throws IOException {
    iface("cw000703", "02:c0:77:00:07:03", "eth2");
    runner.on(List.of("ip", "-d", "-j", "link", "show"), shown("cw000703", "02:c0:77:00:07:03", "macvlan"));
    runner.on(List.of("ip"), "");
    CommandRunner kernel = kernel(null);
    new ExporterLinks(ExporterLinks.Placement.MACVLAN, ExporterLinks.DEFAULT_PREFIX, sys, kernel, "ip")
        .ensure("eth1", 7, 3, "cw000703");
    assertThat(runner.argvs()).containsExactly(
        List.of("ip", "-d", "-j", "link", "show", "dev", "cw000703"),
        List.of("ip", "link", "del", "dev", "cw000703"),
        List.of("ip", "link", "add", "link", "eth1", "name", "cw000703", "address", "02:c0:77:00:07:03", "type",
            "macvlan", "mode", "bridge"),
        List.of("ip", "link", "set", "dev", "cw000703", "addrgenmode", "none"),
        List.of("ip", "link", "set", "dev", "cw000703", "up"));
  }

  @Test
  void ensureRefusesSharedPlacementAndAForeignName() {
    runner.on(List.of("ip"), "");
    ExporterLinks shared = new ExporterLinks(ExporterLinks.Placement.SHARED, ExporterLinks.DEFAULT_PREFIX, sys, runner, "ip");
    assertThatThrownBy(() -> shared.ensure("eth1", 7, 3, "cw000703")).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> ExporterLinks.shared(sys).ensure("eth1", 7, 3, "cw000703"))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> macvlan().ensure("eth1", 7, 3, "cw000704")).as("another target's name")
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> macvlan().ensure("eth1", 7, 3, "eth1")).as("the NIC itself")
        .isInstanceOf(IllegalStateException.class);
    assertThat(runner.argvs()).isEmpty();
  }

  @Test
  void deleteRemovesALinkThatIsAMacvlanWithTheDerivedMac() throws IOException {
    iface("cw000703", "02:c0:77:00:07:03", "eth1");
    runner.on(List.of("ip", "-d", "-j", "link", "show", "dev", "cw000703"),
        shown("cw000703", "02:c0:77:00:07:03", "macvlan"));
    runner.on(List.of("ip", "link", "del"), "");
    assertThat(macvlan().delete("cw000703")).isTrue();
    assertThat(runner.argvs()).containsExactly(
        List.of("ip", "-d", "-j", "link", "show", "dev", "cw000703"),
        List.of("ip", "link", "del", "dev", "cw000703"));
  }

  @Test
  void deleteLeavesAloneAnInterfaceThatIsNoMacvlanOrHasAnotherMac() throws IOException {
    iface("cw000703", "02:c0:77:00:07:03", "eth1");
    runner.on(List.of("ip", "link", "del"), "");
    runner.once(List.of("ip", "-d", "-j", "link", "show"), shown("cw000703", "02:c0:77:00:07:03", "macvtap"));
    assertThat(macvlan().delete("cw000703")).as("a macvtap").isFalse();
    runner.once(List.of("ip", "-d", "-j", "link", "show"), shown("cw000703", "02:c0:77:00:07:03", "vlan"));
    assertThat(macvlan().delete("cw000703")).as("a vlan").isFalse();
    runner.once(List.of("ip", "-d", "-j", "link", "show"), shown("cw000703", "02:c0:77:00:07:04", "macvlan"));
    assertThat(macvlan().delete("cw000703")).as("another MAC").isFalse();
    runner.once(List.of("ip", "-d", "-j", "link", "show"), shown("cw000703", "52:54:00:12:34:56", "macvlan"));
    assertThat(macvlan().delete("cw000703")).as("someone else's macvlan").isFalse();
    runner.once(List.of("ip", "-d", "-j", "link", "show"), shown("cw000703", "06:c0:77:00:07:03", "macvlan"));
    assertThat(macvlan().delete("cw000703")).as("not 02: first byte").isFalse();
    runner.once(List.of("ip", "-d", "-j", "link", "show"),
        "[{\"ifindex\":4,\"ifname\":\"cw000703\",\"address\":\"02:c0:77:00:07:03\"}]\n");
    assertThat(macvlan().delete("cw000703")).as("no link info").isFalse();
    assertThat(runner.argvs()).hasSize(6).allSatisfy(a -> assertThat(a).doesNotContain("del"));
  }

  @Test
  void deleteRemovesALinkMadeUnderAnotherPrefixSoAPrefixChangeLeavesNoneBehind() throws IOException {
    iface("cw000703", "02:aa:bb:00:07:03", "eth1");
    runner.on(List.of("ip", "-d", "-j", "link", "show", "dev", "cw000703"),
        shown("cw000703", "02:aa:bb:00:07:03", "macvlan"));
    runner.on(List.of("ip", "link", "del"), "");
    assertThat(macvlan().delete("cw000703")).isTrue();
    assertThat(runner.argvs()).contains(List.of("ip", "link", "del", "dev", "cw000703"));
    assertThat(macvlan().nicOf("cw000703")).as("but it is not this prefix's link: not mapped to its NIC").isEmpty();
  }

  @Test
  void deleteOfNoSuchLinkOrANameNotOursRunsNothing() {
    runner.on(List.of("ip"), "");
    assertThat(macvlan().delete("cw000703")).as("not in sysfs").isFalse();
    assertThat(macvlan().delete("eth1")).isFalse();
    assertThat(macvlan().delete(null)).isFalse();
    assertThat(runner.argvs()).isEmpty();
  }

  @Test
  void deleteOfALinkThatVanishesMeanwhileIsNoError() throws IOException {
    iface("cw000703", "02:c0:77:00:07:03", "eth1");
    runner.failOnce(List.of("ip", "-d", "-j", "link", "show"), 1, "Device \"cw000703\" does not exist.\n");
    assertThat(macvlan().delete("cw000703")).isFalse();
    runner.on(List.of("ip", "-d", "-j", "link", "show"), shown("cw000703", "02:c0:77:00:07:03", "macvlan"));
    runner.failOnce(List.of("ip", "link", "del"), 1, "Cannot find device \"cw000703\"\n");
    assertThat(macvlan().delete("cw000703")).isFalse();
    runner.fail(List.of("ip", "link", "del"), 2, "RTNETLINK answers: Operation not permitted\n");
    assertThatThrownBy(() -> macvlan().delete("cw000703")).isInstanceOf(CommandFailedException.class);
  }

  @Test
  void listNamesOnlyInterfacesNamedLikeExporterLinksSorted() throws IOException {
    assertThat(macvlan().list()).as("no class/net at all").isEmpty();
    iface("cw000704", "02:c0:77:00:07:04", "eth1");
    iface("cw000703", "52:54:00:12:34:56", "eth1"); // named like one, whoever made it
    iface("eth1", "52:54:00:00:00:01");
    iface("cwx", "52:54:00:00:00:02");
    iface("cw0007031", "52:54:00:00:00:03");
    iface("lo", "00:00:00:00:00:00");
    assertThat(macvlan().list()).containsExactly("cw000703", "cw000704");
  }

  @Test
  void sharedWithoutARunnerListsAndDeletesNothingWhateverTheHostHolds() throws IOException {
    iface("cw000703", "02:c0:77:00:07:03", "eth1");
    ExporterLinks shared = ExporterLinks.shared(sys);
    assertThat(shared.list()).isEmpty();
    assertThat(shared.delete("cw000703")).isFalse();
    assertThat(Files.exists(sys.resolve("class/net/cw000703"))).isTrue();
    assertThat(shared.nicOf("cw000703")).as("reads still map a link to its NIC").contains("eth1");
  }
}
