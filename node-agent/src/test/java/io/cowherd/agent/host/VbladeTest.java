package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Argument forms from vblade(8): {@code vblade [-b bufcnt] [-o offset] [-l length] [-d] [-s] [-r] [-m mac[,mac...]] shelf slot netif filename}. */
class VbladeTest {
  private final Vblade vblade = new Vblade("/usr/sbin/vblade");
  private final VbladeTarget target = new VbladeTarget(7, 3, "eth1", Path.of("/dev/mapper/cowherd-ns-p-3"));

  @Test
  void argvIsSyncWritesThenTheFourPositionalsAfterDoubleDash() {
    assertThat(vblade.argv(target))
        .containsExactly("/usr/sbin/vblade", "-s", "--", "7", "3", "eth1", "/dev/mapper/cowherd-ns-p-3");
    assertThat(target.aoeName()).isEqualTo("e7.3");
  }

  @Test
  void aTargetWithWriteCacheHasNoSyncOption() {
    VbladeTarget cached = new VbladeTarget(7, 3, "eth1", Path.of("/dev/mapper/cowherd-ns-p-3"), true);
    assertThat(vblade.argv(cached))
        .containsExactly("/usr/sbin/vblade", "--", "7", "3", "eth1", "/dev/mapper/cowherd-ns-p-3");
    Vblade.ParsedArgs a = Vblade.parse(vblade.argv(cached)).orElseThrow();
    assertThat(a.target()).isEqualTo(cached);
    assertThat(new VbladeProcess(1, a.target(), a.options()).isExactly(cached)).isTrue();
    assertThat(new VbladeProcess(1, a.target(), a.options()).isExactly(target)).as("cached is not the durable exporter").isFalse();
    Vblade.ParsedArgs durable = Vblade.parse(vblade.argv(target)).orElseThrow();
    assertThat(new VbladeProcess(2, durable.target(), durable.options()).isExactly(cached)).isFalse();
  }

  @Test
  void syncInAnOptionClusterIsDurable() {
    assertThat(Vblade.parse(List.of("vblade", "-ds", "7", "3", "eth1", "/x.img")).orElseThrow().target().writeCache()).isFalse();
    assertThat(Vblade.parse(List.of("vblade", "-m", "s", "7", "3", "eth1", "/x.img")).orElseThrow().target().writeCache())
        .as("'s' as the value of -m is no flag").isTrue();
  }

  @Test
  void parsesOwnArgvAsExactMatch() {
    Vblade.ParsedArgs a = Vblade.parse(vblade.argv(target)).orElseThrow();
    assertThat(a.target()).isEqualTo(target);
    assertThat(new VbladeProcess(1, a.target(), a.options()).isExactly(target)).isTrue();
  }

  @Test
  void parsesOptionsWithSeparateAndAttachedValues() {
    Vblade.ParsedArgs a = Vblade.parse(List.of("vblade", "-b", "64", "-dr", "-m", "00:11:22:33:44:55", "-o16",
        "7", "3", "eth1", "/x.img")).orElseThrow();
    assertThat(a.options()).containsExactly("-b", "64", "-dr", "-m", "00:11:22:33:44:55", "-o16");
    assertThat(a.target()).isEqualTo(new VbladeTarget(7, 3, "eth1", Path.of("/x.img"), true,
        List.of("00:11:22:33:44:55")));
    assertThat(new VbladeProcess(1, a.target(), a.options()).isExactly(a.target())).isFalse();
  }

  /**
   * vblade reads shelf and slot with atoi(3): the real vblade 25 given {@code -- '9abc' 7 lo f} or
   * {@code -- ' 9' 7 lo f} printed "e9.7" and served it. A scan that refused those arguments would not
   * see a process claiming our address.
   */
  @Test
  void shelfAndSlotAreReadAsVbladesAtoiReadsThem() {
    assertThat(Vblade.parse(List.of("vblade", "9abc", " 7", "eth1", "/x.img")).orElseThrow().target())
        .isEqualTo(new VbladeTarget(9, 7, "eth1", Path.of("/x.img"), true));
    assertThat(List.of("9", "009", "+9", " \t9", "9 ", "9abc", "9.5")).allSatisfy(a -> assertThat(Vblade.atoi(a)).as(a).isEqualTo(9));
    assertThat(Vblade.atoi("abc")).isZero();
    assertThat(Vblade.atoi("")).isZero();
    assertThat(Vblade.atoi("-")).isZero();
    assertThat(Vblade.atoi("-1")).isEqualTo(-1);
    assertThat(Vblade.atoi("65545")).isEqualTo(65545);
    assertThat(Vblade.atoi("99999999999")).isEqualTo((int) 99999999999L); // strtol's long, then int
    assertThat(Vblade.atoi("99999999999999999999999")).isEqualTo((int) Long.MAX_VALUE); // clamped first
    assertThat(Vblade.atoi("-99999999999999999999999")).isEqualTo((int) Long.MIN_VALUE);
  }

  @Test
  void anInterfaceStartingWithADashStaysAPositionalAfterDoubleDash() {
    VbladeTarget dashed = new VbladeTarget(7, 3, "-d", Path.of("/x.img"));
    assertThat(vblade.argv(dashed)).containsExactly("/usr/sbin/vblade", "-s", "--", "7", "3", "-d", "/x.img");
    Vblade.ParsedArgs a = Vblade.parse(vblade.argv(dashed)).orElseThrow();
    assertThat(a.target()).isEqualTo(dashed);
    assertThat(a.options()).containsExactly("-s");
  }

  @Test
  void anExporterOfAnOlderAgentWithoutSyncIsNotExactlyTheDurableOne() {
    Vblade.ParsedArgs old = Vblade.parse(List.of("vblade", "7", "3", "eth1", "/dev/mapper/cowherd-ns-p-3")).orElseThrow();
    Vblade.ParsedArgs olderDashed = Vblade.parse(List.of("vblade", "--", "7", "3", "eth1", "/dev/mapper/cowherd-ns-p-3"))
        .orElseThrow();
    Vblade.ParsedArgs now = Vblade.parse(vblade.argv(target)).orElseThrow();
    assertThat(old.target().writeCache()).isTrue();
    assertThat(new VbladeProcess(1, old.target(), old.options()).isExactly(target)).isFalse();
    assertThat(new VbladeProcess(1, olderDashed.target(), olderDashed.options()).isExactly(target)).isFalse();
    assertThat(new VbladeProcess(2, now.target(), now.options()).isExactly(target)).isTrue();
    Vblade.ParsedArgs permuted = Vblade.parse(List.of("vblade", "7", "3", "eth1", "/dev/mapper/cowherd-ns-p-3", "-s"))
        .orElseThrow();
    assertThat(new VbladeProcess(3, permuted.target(), permuted.options()).isExactly(target)).as("getopt permutes").isTrue();
  }

  @Test
  void optionsAfterThePositionalsAreFoundAsGetoptPermutesThem() {
    Vblade.ParsedArgs a = Vblade.parse(List.of("vblade", "7", "3", "eth1", "/x.img", "-r")).orElseThrow();
    assertThat(a.target()).isEqualTo(new VbladeTarget(7, 3, "eth1", Path.of("/x.img"), true));
    assertThat(a.options()).containsExactly("-r");
    assertThat(new VbladeProcess(1, a.target(), a.options()).isExactly(a.target())).isFalse();
  }

  @Test
  void scanReadsDoubleDashArgvFromProc(@TempDir Path proc) throws IOException {
    cmdline(proc, 200, "/usr/sbin/vblade", "-s", "--", "7", "3", "eth1", "/dev/mapper/cowherd-ns-p-3");
    assertThat(new VbladeProcesses(proc, vblade).scan()).singleElement()
        .satisfies(p -> assertThat(p.isExactly(target)).isTrue());
  }

  @Test
  void rejectsArgvThatIsNotVblades() {
    assertThat(Vblade.parse(List.of("vblade", "7", "3", "eth1"))).isEmpty();
    assertThat(Vblade.parse(List.of("vblade", "-b", "7", "3", "eth1", "/x"))).as("-b takes 7: three positionals").isEmpty();
    // Not a number is still a vblade: its atoi makes shelf 0 of "x", and it serves e0.3.
    assertThat(Vblade.parse(List.of("vblade", "x", "3", "eth1", "/x")).orElseThrow().target().shelf()).isZero();
  }

  @Test
  void scanFindsVbladeProcessesInProc(@TempDir Path proc) throws IOException {
    cmdline(proc, 100, "/usr/sbin/vblade", "7", "3", "eth1", "/x.img");
    cmdline(proc, 101, "vblade", "-r", "7", "4", "eth1", "/y.img");
    cmdline(proc, 102, "timeout", "2", "vblade", "7", "5", "eth1", "/z.img");
    cmdline(proc, 103); // kernel thread: empty cmdline
    cmdline(proc, 104, "/", "x"); // argv[0] without a file name
    Files.createDirectories(proc.resolve("self"));
    List<VbladeProcess> found = new VbladeProcesses(proc, vblade).scan();
    assertThat(found).extracting(VbladeProcess::pid).containsExactlyInAnyOrder(100L, 101L);
    assertThat(new VbladeProcesses(proc, vblade).claiming(new VbladeTarget(7, 4, "eth1", Path.of("/other"))))
        .extracting(VbladeProcess::pid).containsExactly(101L);
  }

  static void cmdline(Path proc, long pid, String... argv) throws IOException {
    Path dir = Files.createDirectories(proc.resolve(Long.toString(pid)));
    StringBuilder b = new StringBuilder();
    for (String a : argv) {
      b.append(a).append('\0');
    }
    Files.writeString(dir.resolve("cmdline"), b, StandardCharsets.UTF_8);
  }

  @Test
  void aTargetWithMacsServesOnlyThemAndParsesBackAsTheSameExporter() {
    VbladeTarget bound = new VbladeTarget(7, 3, "eth1", Path.of("/x.img"), false,
        List.of("52:54:00:12:34:56", "02:00:00:00:00:01"));
    List<String> argv = vblade.argv(bound);
    assertThat(argv).containsExactly("/usr/sbin/vblade", "-s", "-m", "52:54:00:12:34:56,02:00:00:00:00:01", "--",
        "7", "3", "eth1", "/x.img");
    Vblade.ParsedArgs parsed = Vblade.parse(argv).orElseThrow();
    assertThat(parsed.target()).isEqualTo(bound);
    assertThat(parsed.target().macs()).containsExactly("52:54:00:12:34:56", "02:00:00:00:00:01");
    // Another MAC list is another exporter: only this one is restarted when its list changes.
    assertThat(parsed.target()).isNotEqualTo(new VbladeTarget(7, 3, "eth1", Path.of("/x.img"), false,
        List.of("52:54:00:12:34:57", "02:00:00:00:00:01")));
    assertThat(Vblade.parse(List.of("vblade", "-mAA:BB:CC:DD:EE:FF", "7", "3", "eth1", "/x.img")).orElseThrow()
        .target().macs()).containsExactly("aa:bb:cc:dd:ee:ff");
    // What /proc/<pid>/cmdline of a running vblade 25 shows: it writes NUL over the commas of -m.
    List<String> asRunning = List.of("/usr/sbin/vblade", "-s", "-m", "52:54:00:12:34:56", "02:00:00:00:00:01", "--",
        "7", "3", "eth1", "/x.img");
    Vblade.ParsedArgs running = Vblade.parse(asRunning).orElseThrow();
    assertThat(running.target()).isEqualTo(bound);
    assertThat(new VbladeProcess(1, running.target(), running.options()).isExactly(bound)).isTrue();
  }

  @Test
  void moreThan32MacsAreRefused() {
    List<String> macs = java.util.stream.IntStream.range(0, 33).mapToObj(i -> String.format("02:00:00:00:00:%02x", i))
        .toList();
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> new VbladeTarget(7, 3, "eth1", Path.of("/x.img"), false, macs))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
