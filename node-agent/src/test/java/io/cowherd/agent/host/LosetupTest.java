package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class LosetupTest {
  /** Captured from util-linux 2.38 ({@code losetup --json --list --output NAME,BACK-FILE,RO,MAJ:MIN}). */
  static final String TWO_DEVICES = """
      {
         "loopdevices": [
            {
               "name": "/dev/loop0",
               "back-file": "/images/debian.img",
               "ro": true,
               "maj:min": "  7:0  "
            },{
               "name": "/dev/loop1",
               "back-file": "/var/lib/cowherd/ns/p/slot-0.cow (deleted)",
               "ro": false,
               "maj:min": "  7:1  "
            }
         ]
      }
      """;

  @Test
  void attachArgvIsReadOnlyForOriginAndReadWriteForCow() {
    assertThat(Losetup.attachReadOnlyCommand(Path.of("/images/a.img")).argv())
        .containsExactly("losetup", "--read-only", "--find", "--show", "/images/a.img");
    assertThat(Losetup.attachCommand(Path.of("/s/slot-0.cow")).argv())
        .containsExactly("losetup", "--find", "--show", "/s/slot-0.cow");
    assertThat(Losetup.detachCommand("/dev/loop3").argv()).containsExactly("losetup", "--detach", "/dev/loop3");
    assertThat(Losetup.listCommand().argv()).startsWith("losetup", "--json", "--list");
  }

  @Test
  void parsesJsonListWithDeletedBackFileAndPaddedMajMin() {
    assertThat(Losetup.parseList(TWO_DEVICES)).containsExactly(
        new LoopDevice("/dev/loop0", Path.of("/images/debian.img"), true, "7:0", false),
        new LoopDevice("/dev/loop1", Path.of("/var/lib/cowherd/ns/p/slot-0.cow"), false, "7:1", true));
  }

  @Test
  void parsesEmptyListAndEmptyOutput() {
    assertThat(Losetup.parseList("{\n   \"loopdevices\": [\n\n   ]\n}\n")).isEmpty();
    assertThat(Losetup.parseList("")).isEmpty();
  }

  @Test
  void parsesOlderStringReadOnlyFlag() {
    String json = "{\"loopdevices\": [{\"name\": \"/dev/loop2\", \"back-file\": \"/x\", \"ro\": \"1\", \"maj:min\": \"7:2\"}]}";
    assertThat(Losetup.parseList(json).getFirst().readOnly()).isTrue();
  }

  @Test
  void rejectsOutputThatIsNotLosetupJson() {
    assertThatThrownBy(() -> Losetup.parseList("losetup: oops")).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> Losetup.parseList("{\"x\": 1}")).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void findByBackFileIgnoresDeletedBackFiles() {
    FakeCommandRunner fake = new FakeCommandRunner().on(List.of("losetup", "--json"), TWO_DEVICES);
    Losetup losetup = new Losetup(fake);
    assertThat(losetup.findByBackFile(Path.of("/images/debian.img"))).extracting(LoopDevice::name).containsExactly("/dev/loop0");
    assertThat(losetup.findByBackFile(Path.of("/var/lib/cowherd/ns/p/slot-0.cow"))).isEmpty();
  }

  @Test
  void attachReturnsTheDevicePrinted() {
    FakeCommandRunner fake = new FakeCommandRunner().on(List.of("losetup", "--read-only"), "/dev/loop4\n");
    assertThat(new Losetup(fake).attachReadOnly(Path.of("/images/a.img"))).isEqualTo("/dev/loop4");
  }

  @Test
  void attachTriesAgainWhileTheKernelAnswersBusy() {
    String busy = "losetup: /s/slot-0.cow: failed to set up loop device: Device or resource busy\n";
    FakeCommandRunner fake = new FakeCommandRunner()
        .failOnce(List.of("losetup", "--find"), 1, busy)
        .failOnce(List.of("losetup", "--find"), 1, busy)
        .on(List.of("losetup", "--find"), "/dev/loop7\n");
    assertThat(new Losetup(fake).attach(Path.of("/s/slot-0.cow"))).isEqualTo("/dev/loop7");
    assertThat(fake.argvs()).hasSize(3);
  }

  @Test
  void attachGivesUpAfterABoundedNumberOfBusyAnswers() {
    FakeCommandRunner fake = new FakeCommandRunner()
        .fail(List.of("losetup", "--find"), 1, "losetup: failed to set up loop device: Device or resource busy\n");
    assertThatThrownBy(() -> new Losetup(fake).attach(Path.of("/s/slot-0.cow")))
        .isInstanceOf(CommandFailedException.class);
    assertThat(fake.argvs()).hasSize(Losetup.ATTACH_ATTEMPTS);
  }

  @Test
  void attachDoesNotRetryOtherFailures() {
    FakeCommandRunner fake = new FakeCommandRunner()
        .fail(List.of("losetup", "--find"), 1, "losetup: /s/slot-0.cow: failed to set up loop device: No such file or directory\n");
    assertThatThrownBy(() -> new Losetup(fake).attach(Path.of("/s/slot-0.cow"))).isInstanceOf(CommandFailedException.class);
    assertThat(fake.argvs()).hasSize(1);
  }

  @Test
  void theNodeLockLetsOneAttachRunAtATime(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
    NodeLock lock = NodeLock.onFile(tmp.resolve("state/.losetup.lock"));
    java.util.concurrent.atomic.AtomicInteger inside = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
    try (var pool = java.util.concurrent.Executors.newFixedThreadPool(4)) {
      for (int i = 0; i < 16; i++) {
        pool.submit(() -> lock.call(() -> {
          most.accumulateAndGet(inside.incrementAndGet(), Math::max);
          inside.decrementAndGet();
          return null;
        }));
      }
    }
    assertThat(most.get()).isEqualTo(1);
    assertThat(tmp.resolve("state/.losetup.lock")).exists();
  }

  @Test
  void classifiesNotFound() {
    HostCommand c = Losetup.detachCommand("/dev/loop0");
    assertThat(Losetup.isNotFound(new CommandFailedException(c, 1,
        "losetup: /dev/loop0: detach failed: No such device or address", Duration.ZERO))).isTrue();
    assertThat(Losetup.isNotFound(new CommandFailedException(c, 1, "Permission denied", Duration.ZERO))).isFalse();
  }
}
