package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code /proc} scan survives any process table: a fake {@code /proc} with the argv shapes a
 * process can show (proc(5): {@code cmdline} is NUL-separated, may be empty, rewritten, or vanish
 * during the scan), plus random bytes; only the real vblade is reported, nothing throws. A vblade
 * bound to an exporter link is reported on the link's NIC when a fake sysfs says the link is one of
 * ours ({@link ExporterLinks#nicOf}), and on the link name itself when it does not.
 */
class VbladeProcessesTest {
  @TempDir Path proc;
  private final Vblade vblade = new Vblade("/usr/sbin/vblade");
  private final VbladeProcesses processes = new VbladeProcesses(null, vblade);

  private void process(String pid, byte[] cmdline) throws IOException {
    Files.write(Files.createDirectories(proc.resolve(pid)).resolve("cmdline"), cmdline);
  }

  private static byte[] argv(String... args) {
    return (String.join("\0", args) + "\0").getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void oddArgvOfOtherProcessesIsSkippedAndTheRealExporterFound() throws IOException {
    process("100", argv("/usr/sbin/vblade", "-s", "--", "7", "3", "eth1", "/var/lib/cowherd/x.img"));
    process("101", argv("/")); // the argv[0] that made Path.getFileName() null
    process("102", argv("//"));
    process("103", new byte[0]); // kernel thread or zombie
    process("104", new byte[] {0}); // one empty argument
    process("105", new byte[] {0, 0, 0});
    process("106", argv("", "vblade"));
    process("107", new byte[] {(byte) 0xff, (byte) 0xfe, 0, (byte) 0xc3, 0x28}); // not UTF-8
    process("108", argv("vblade")); // the program alone
    process("109", argv("vblade", "-b"));
    process("110", argv("vblade", "99999999999", "3", "eth1", "/x")); // shelf beyond int: vblade's atoi keeps 32 bits
    process("117", argv("vblade", "7abc", " 3", "eth1", "/y")); // vblade serves e7.3 (atoi)
    process("111", argv("vblade", "-m", "--", "7", "3", "eth1"));
    process("112", argv("/usr/sbin/vblade.orig", "7", "3", "eth1", "/x")); // another program
    process("113", ("vblade\0" + "x".repeat(1 << 20)).getBytes(StandardCharsets.UTF_8)); // huge
    process("114", argv("/usr/sbin/vblade", "7", "3", "eth1", "/a\uFFFDb"));
    Files.createDirectories(proc.resolve("115")); // vanished: directory left, cmdline gone
    Files.createDirectories(proc.resolve("116/cmdline")); // unreadable as a file
    Files.createDirectories(proc.resolve("99999999999999999999")); // digits, but no pid
    Files.createDirectories(proc.resolve("self"));
    VbladeProcesses scanner = new VbladeProcesses(proc, vblade);

    List<VbladeProcess> found = scanner.scan();

    assertThat(found).extracting(VbladeProcess::pid).containsExactlyInAnyOrder(100L, 110L, 114L, 117L);
    assertThat(scanner.claiming(new VbladeTarget(7, 3, "eth1", Path.of("/z")))).extracting(VbladeProcess::pid)
        .as("every process claiming e7.3 on eth1, however it spelled the numbers").containsExactlyInAnyOrder(100L, 114L, 117L);
    assertThat(found).filteredOn(p -> p.pid() == 100).first()
        .satisfies(p -> assertThat(p.target()).isEqualTo(new VbladeTarget(7, 3, "eth1", Path.of("/var/lib/cowherd/x.img"))));
  }

  @Test
  void aBoundExporterIsFoundAfterVbladeCutItsMacListAtTheCommas() {
    List<String> started = List.of("/usr/sbin/vblade", "-s", "-m", "52:54:00:00:00:01,52:54:00:00:00:02", "--", "7", "3",
        "eth1", "/x.img");
    List<String> shown = List.of("/usr/sbin/vblade", "-s", "-m", "52:54:00:00:00:01", "52:54:00:00:00:02", "--", "7",
        "3", "eth1", "/x.img");
    List<String> launcher = new java.util.ArrayList<>(List.of("setsid", "--fork", "--"));
    launcher.addAll(started);

    assertThat(VbladeProcesses.runs(shown, started)).as("vblade's own view of its -m list").isTrue();
    assertThat(VbladeProcesses.runs(started, started)).as("before vblade parsed its arguments").isTrue();
    assertThat(VbladeProcesses.runs(launcher, started)).as("the launcher's child before its exec").isTrue();
    assertThat(VbladeProcesses.runs(List.of("/usr/sbin/vblade", "-s", "-m", "52:54:00:00:00:01", "--", "7", "3", "eth1",
        "/x.img"), started)).as("another MAC list").isFalse();
    assertThat(VbladeProcesses.runs(List.of("/usr/sbin/vblade", "-s", "--", "7", "3", "eth1", "/x.img"), started))
        .as("unbound").isFalse();
    assertThat(VbladeProcesses.runs(List.of("sleep", "1"), started)).isFalse();
  }

  @Test
  void baseNameNeedsNoPathParsing() {
    assertThat(VbladeProcesses.baseName("/")).isEmpty();
    assertThat(VbladeProcesses.baseName("")).isEmpty();
    assertThat(VbladeProcesses.baseName("/usr/sbin/vblade")).isEqualTo("vblade");
    assertThat(VbladeProcesses.baseName("vblade//")).isEqualTo("vblade");
    assertThat(VbladeProcesses.baseName("a\0b/vblade")).isEqualTo("vblade");
  }

  @Test
  void randomCmdlinesNeverThrow() {
    Random random = new Random(20261202L); // fixed seed: a failure reproduces
    byte[] alphabet = "vblade/-- 0123456789eth.\0\u00ff".getBytes(StandardCharsets.ISO_8859_1);
    for (int round = 0; round < 20_000; round++) {
      byte[] bytes = new byte[random.nextInt(48)];
      for (int i = 0; i < bytes.length; i++) {
        bytes[i] = random.nextInt(4) == 0 ? (byte) random.nextInt(256) : alphabet[random.nextInt(alphabet.length)];
      }
      List<String> args = new ArrayList<>(VbladeProcesses.splitArgv(bytes).orElse(List.of()));
      if (random.nextBoolean() && !args.isEmpty()) {
        args.set(0, "vblade"); // get past the program check into vblade's parser
      }
      assertThatCode(() -> processes.asVblade(args)).as("argv %s", args).doesNotThrowAnyException();
    }
  }

  @Test
  void aSharedSnapshotReadsOnlyNewPidsAndDropsVanishedOnesIndexedByAddressAndPath() throws IOException {
    process("200", argv("/usr/sbin/vblade", "-s", "--", "7", "3", "eth1", "/s/a.img"));
    VbladeProcesses scanner = new VbladeProcesses(proc, vblade);
    VbladeTarget a = new VbladeTarget(7, 3, "eth1", Path.of("/s/a.img"));
    assertThat(scanner.snapshot(java.time.Duration.ofHours(1)).claiming(a)).extracting(VbladeProcess::pid)
        .containsExactly(200L);

    process("201", argv("/usr/sbin/vblade", "7", "3", "eth1", "/s/other.img")); // appears: read
    Files.write(proc.resolve("200/cmdline"), argv("sleep", "1")); // a pid already seen is not read again
    VbladeProcesses.Snapshot second = scanner.snapshot(java.time.Duration.ofHours(1));
    assertThat(second.claiming(a)).extracting(VbladeProcess::pid).containsExactlyInAnyOrder(200L, 201L);
    assertThat(second.serving(Path.of("/s/other.img"))).extracting(VbladeProcess::pid).containsExactly(201L);

    Files.delete(proc.resolve("201/cmdline"));
    Files.delete(proc.resolve("201")); // exits: dropped without a full scan
    assertThat(scanner.snapshot(java.time.Duration.ofHours(1)).all()).extracting(VbladeProcess::pid)
        .containsExactly(200L);
    assertThat(scanner.snapshot(java.time.Duration.ZERO).all()).as("a full scan reads every pid again").isEmpty();
  }

  @Test
  void aProcessThisAgentStartedOrEndedIsInTheSnapshotAtOnce() throws IOException {
    VbladeProcesses scanner = new VbladeProcesses(proc, vblade);
    assertThat(scanner.snapshot(java.time.Duration.ofHours(1)).all()).isEmpty();
    VbladeTarget t = new VbladeTarget(7, 4, "eth1", Path.of("/s/b.img"));
    process("300", argv("setsid", "--fork", "--", "/usr/sbin/vblade", "-s", "--", "7", "4", "eth1", "/s/b.img"));
    assertThat(scanner.snapshot(java.time.Duration.ofHours(1)).all()).as("seen before its exec").isEmpty();
    scanner.started(new VbladeProcess(300, t, Vblade.options(t)));
    assertThat(scanner.snapshot(java.time.Duration.ofHours(1)).claiming(t)).extracting(VbladeProcess::pid)
        .containsExactly(300L);
    scanner.ended(300);
    assertThat(scanner.snapshot(java.time.Duration.ofHours(1)).claiming(t)).isEmpty();
  }

  /** proc(5) stat: pid (comm) state ppid ... with field 22, the start time, last here. */
  private void stat(String pid, char state) throws IOException {
    StringBuilder fields = new StringBuilder(pid + " (vblade) " + state);
    for (int field = 4; field <= 21; field++) {
      fields.append(" 1");
    }
    Files.writeString(proc.resolve(pid).resolve("stat"), fields.append(" 4242\n").toString());
  }

  @Test
  void aZombieStaysInAnIncrementalSnapshotUntilDropEndedReadsItsState() throws IOException {
    process("500", argv("/usr/sbin/vblade", "-s", "--", "7", "8", "eth1", "/s/z.img"));
    stat("500", 'S');
    VbladeProcesses scanner = new VbladeProcesses(proc, vblade);
    List<VbladeProcess> seen = scanner.snapshot(java.time.Duration.ofHours(1)).all();
    assertThat(seen).extracting(VbladeProcess::pid).containsExactly(500L);
    assertThat(scanner.dropEnded(seen)).as("a running process stays").isFalse();

    // Killed, not yet reaped: the /proc entry stays, state Z, cmdline empty (its memory is gone).
    Files.write(proc.resolve("500/cmdline"), new byte[0]);
    stat("500", 'Z');
    seen = scanner.snapshot(java.time.Duration.ofHours(1)).all();
    assertThat(seen).as("an incremental snapshot does not read a known pid again").extracting(VbladeProcess::pid)
        .containsExactly(500L);
    assertThat(scanner.dropEnded(seen)).isTrue();
    assertThat(scanner.snapshot(java.time.Duration.ofHours(1)).all()).as("read again: no argv, not a vblade").isEmpty();
  }

  @Test
  void anUnchangedScanHandsOutTheSameSnapshotAndAnyChangeANewOne() throws IOException {
    process("400", argv("/usr/sbin/vblade", "-s", "--", "7", "5", "eth1", "/s/c.img"));
    process("401", argv("sleep", "60"));
    VbladeProcesses scanner = new VbladeProcesses(proc, vblade);
    VbladeProcesses.Snapshot first = scanner.snapshot(java.time.Duration.ofHours(1));
    assertThat(scanner.snapshot(java.time.Duration.ofHours(1))).as("nothing came or went").isSameAs(first);

    process("402", argv("/usr/sbin/vblade", "-s", "--", "7", "6", "eth1", "/s/d.img"));
    VbladeProcesses.Snapshot second = scanner.snapshot(java.time.Duration.ofHours(1));
    assertThat(second).isNotSameAs(first);
    assertThat(second.all()).extracting(VbladeProcess::pid).containsExactlyInAnyOrder(400L, 402L);

    process("403", argv("sleep", "60")); // not a vblade: the same snapshot
    assertThat(scanner.snapshot(java.time.Duration.ofHours(1))).isSameAs(second);

    Files.delete(proc.resolve("402/cmdline"));
    Files.delete(proc.resolve("402"));
    scanner.ended(402);
    assertThat(scanner.snapshot(java.time.Duration.ofHours(1)).all()).extracting(VbladeProcess::pid)
        .containsExactly(400L);
    VbladeTarget t = new VbladeTarget(7, 7, "eth1", Path.of("/s/e.img"));
    process("404", argv("setsid", "--fork", "--", "/usr/sbin/vblade", "-s", "--", "7", "7", "eth1", "/s/e.img"));
    scanner.started(new VbladeProcess(404, t, Vblade.options(t)));
    assertThat(scanner.snapshot(java.time.Duration.ofHours(1)).claiming(t)).extracting(VbladeProcess::pid)
        .containsExactly(404L);
  }

  @Test
  void aVbladeOnAnExporterLinkIsReportedOnTheLinksNicWhenSysfsSaysSo(@TempDir Path sys) throws IOException {
    process("600", argv("vblade", "-s", "--", "7", "3", "cw000703", "/x/slot.cow"));
    ExporterLinks links = new ExporterLinks(ExporterLinks.Placement.MACVLAN, ExporterLinks.DEFAULT_PREFIX, sys,
        new FakeCommandRunner(), "ip");
    VbladeProcesses scanner = new VbladeProcesses(proc, vblade, links);

    VbladeTarget unknown = scanner.scan().getFirst().target();
    assertThat(unknown.iface()).as("no such link in sysfs: judged on the name it binds").isEqualTo("cw000703");
    assertThat(unknown.link()).isEqualTo("cw000703");
    assertThat(unknown.ownLink()).isFalse();
    // Its NIC cannot be told (a link in another namespace of this host, or gone): it still claims the
    // target whose link has its name, as a vblade on a NIC of the same name would.
    VbladeTarget mine = new VbladeTarget(7, 3, "eth1", Path.of("/y/mine.cow"), false, List.of(), "cw000703");
    assertThat(unknown.sameAddress(mine)).isTrue();
    assertThat(scanner.snapshot(java.time.Duration.ZERO).claiming(mine)).extracting(VbladeProcess::pid)
        .containsExactly(600L);
    assertThat(scanner.snapshot(java.time.Duration.ZERO).claiming(new VbladeTarget(7, 3, "eth1", Path.of("/y/mine.cow"))))
        .as("not a claim on the NIC itself").isEmpty();

    Path link = Files.createDirectories(sys.resolve("class/net/cw000703"));
    Files.writeString(link.resolve("address"), "02:c0:77:00:07:03\n");
    Files.createDirectories(link.resolve("lower_eth1"));
    List<VbladeProcess> found = scanner.scan();
    assertThat(found).extracting(VbladeProcess::pid).containsExactly(600L);
    VbladeTarget t = found.getFirst().target();
    assertThat(t.iface()).isEqualTo("eth1");
    assertThat(t.link()).isEqualTo("cw000703");
    assertThat(t.ownLink()).isTrue();
    VbladeTarget wanted = new VbladeTarget(7, 3, "eth1", Path.of("/x/slot.cow"), false, List.of(), "cw000703");
    assertThat(found.getFirst().isExactly(wanted)).as("the exporter cowherd would start for it").isTrue();
    assertThat(scanner.claiming(new VbladeTarget(7, 3, "eth1", Path.of("/other")))).as("claims e7.3 on eth1")
        .extracting(VbladeProcess::pid).containsExactly(600L);
    assertThat(scanner.snapshot(java.time.Duration.ZERO).claiming(wanted)).extracting(VbladeProcess::pid)
        .containsExactly(600L);

    Files.writeString(link.resolve("address"), "52:54:00:12:34:56\n");
    assertThat(scanner.scan().getFirst().target().iface()).as("someone else's interface of that name")
        .isEqualTo("cw000703");
    assertThat(new VbladeProcesses(proc, vblade).scan().getFirst().target().iface())
        .as("without exporter links").isEqualTo("cw000703");
  }

  @Test
  void argvOfATargetWithALinkNamesTheLinkAsNetif() {
    VbladeTarget t = new VbladeTarget(7, 3, "eth1", Path.of("/x/slot.cow"), false, List.of("52:54:00:00:00:01"),
        "cw000703");
    assertThat(vblade.argv(t)).containsExactly("/usr/sbin/vblade", "-s", "-m", "52:54:00:00:00:01", "--", "7", "3",
        "cw000703", "/x/slot.cow");
    assertThat(vblade.argv(new VbladeTarget(7, 3, "eth1", Path.of("/x/slot.cow"), false, List.of(), null)))
        .as("no link: the NIC").containsExactly("/usr/sbin/vblade", "-s", "--", "7", "3", "eth1", "/x/slot.cow");
    assertThat(t.onNic("eth2")).isEqualTo(new VbladeTarget(7, 3, "eth2", Path.of("/x/slot.cow"), false,
        List.of("52:54:00:00:00:01"), "cw000703"));
  }
}
