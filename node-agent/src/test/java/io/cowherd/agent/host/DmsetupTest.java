package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Formats: kernel Documentation/admin-guide/device-mapper/snapshot.rst. */
class DmsetupTest {
  @Test
  void createPassesTheTableAsOneArgvElement() {
    String table = Dmsetup.snapshotTable(2097152, "/dev/loop0", "/dev/loop1", 64);
    assertThat(table).isEqualTo("0 2097152 snapshot /dev/loop0 /dev/loop1 PO 64");
    assertThat(Dmsetup.createCommand("cowherd-ns-p-0", "cowherd-abc", table).argv())
        .containsExactly("dmsetup", "create", "cowherd-ns-p-0", "--noudevsync", "--uuid", "cowherd-abc", "--table", table);
  }

  @Test
  void removeRetriesWhileBusyButNeverForces() {
    assertThat(Dmsetup.removeCommand("cowherd-ns-p-0").argv())
        .containsExactly("dmsetup", "remove", "--noudevsync", "--retry", "cowherd-ns-p-0")
        .doesNotContain("--force", "-f");
    assertThat(Dmsetup.mknodesCommand("n").argv()).containsExactly("dmsetup", "mknodes", "n");
    assertThat(Dmsetup.statusCommand("n").argv()).containsExactly("dmsetup", "status", "n");
  }

  @Test
  void parsesActiveSnapshotUsage() {
    assertThat(Dmsetup.parseSnapshotStatus("0 2097152 snapshot 16/2097152 16\n"))
        .isEqualTo(new SnapshotStatus.Active(16, 2097152, 16));
  }

  @Test
  void parsesInvalidOverflowAndMergeFailed() {
    assertThat(Dmsetup.parseSnapshotStatus("0 2097152 snapshot Invalid")).isEqualTo(new SnapshotStatus.Broken("Invalid"));
    assertThat(Dmsetup.parseSnapshotStatus("0 2097152 snapshot Overflow")).isEqualTo(new SnapshotStatus.Broken("Overflow"));
    assertThat(Dmsetup.parseSnapshotStatus("0 8 snapshot Merge failed")).isEqualTo(new SnapshotStatus.Broken("Merge failed"));
  }

  @Test
  void rejectsNonSnapshotStatusLines() {
    assertThatThrownBy(() -> Dmsetup.parseSnapshotStatus("0 2048 linear")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Dmsetup.parseSnapshotStatus("")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Dmsetup.parseSnapshotStatus("0 8 snapshot x/y 1")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void parsesTablesByName() {
    assertThat(Dmsetup.parseTables("cowherd-a-p-0: 0 2048 snapshot 7:0 7:1 P 64\ncowherd-a-p-1: 0 2048 snapshot 7:0 7:2 P 64\n"))
        .containsEntry("cowherd-a-p-0", "0 2048 snapshot 7:0 7:1 P 64")
        .containsEntry("cowherd-a-p-1", "0 2048 snapshot 7:0 7:2 P 64");
    assertThat(Dmsetup.parseTables("No devices found\n")).isEmpty();
  }

  @Test
  void infoIsEmptyWhenTheDeviceDoesNotExist() {
    FakeCommandRunner fake = new FakeCommandRunner()
        .fail(List.of("dmsetup", "info"), 1, "Device does not exist.\nCommand failed.\n");
    assertThat(new Dmsetup(fake).info("cowherd-x-y-0")).isEmpty();
    FakeCommandRunner found = new FakeCommandRunner().on(List.of("dmsetup", "info"), "cowherd-x-y-0|cowherd-0123|254|7\n");
    assertThat(new Dmsetup(found).info("cowherd-x-y-0"))
        .isEqualTo(Optional.of(new DmDevice("cowherd-x-y-0", "cowherd-0123", "254:7")));
  }

  @Test
  void parsesInfoWithAndWithoutNumbers() {
    assertThat(Dmsetup.parseInfo("n|u|254|12\n")).isEqualTo(new DmDevice("n", "u", "254:12"));
    assertThat(Dmsetup.parseInfo("n||254|0")).isEqualTo(new DmDevice("n", "", "254:0"));
    assertThat(Dmsetup.parseInfo("n|u")).isEqualTo(new DmDevice("n", "u", ""));
    assertThat(Dmsetup.parseInfo("n")).isEqualTo(new DmDevice("n", "", ""));
  }

  @Test
  void classifiesBusyAndNotFound() {
    HostCommand c = Dmsetup.removeCommand("n");
    CommandFailedException busy = new CommandFailedException(c, 1,
        "device-mapper: remove ioctl on n  failed: Device or resource busy\nCommand failed.", Duration.ZERO);
    CommandFailedException gone = new CommandFailedException(c, 1,
        "device-mapper: remove ioctl on n  failed: No such device or address", Duration.ZERO);
    assertThat(Dmsetup.isBusy(busy)).isTrue();
    assertThat(Dmsetup.isNotFound(busy)).isFalse();
    assertThat(Dmsetup.isNotFound(gone)).isTrue();
  }
}
