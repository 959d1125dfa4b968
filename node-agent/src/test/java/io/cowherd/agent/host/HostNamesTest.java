package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class HostNamesTest {
  private final HostNames names = new HostNames(Path.of("/var/lib/cowherd"));
  private final SlotId id = new SlotId("lab", "debian", 3);

  @Test
  void pathsFollowTheStateDirLayout() {
    assertThat(names.clonePath(id)).isEqualTo(Path.of("/var/lib/cowherd/lab/debian/slot-3.img"));
    assertThat(names.partialClonePath(id)).isEqualTo(Path.of("/var/lib/cowherd/lab/debian/slot-3.img.partial"));
    assertThat(names.cowFilePath(id)).isEqualTo(Path.of("/var/lib/cowherd/lab/debian/slot-3.cow"));
    assertThat(names.exporterLogPath(id)).isEqualTo(Path.of("/var/lib/cowherd/lab/debian/slot-3.vblade.log"));
  }

  @Test
  void dmNameAndDevicePath() {
    assertThat(HostNames.dmName(id)).isEqualTo("cowherd-lab-debian-3");
    assertThat(HostNames.dmDevicePath(id)).isEqualTo(Path.of("/dev/mapper/cowherd-lab-debian-3"));
  }

  @Test
  void ambiguousDmNamesGetDistinctUuids() {
    SlotId a = new SlotId("a-b", "c", 0);
    SlotId b = new SlotId("a", "b-c", 0);
    assertThat(HostNames.dmName(a)).isEqualTo(HostNames.dmName(b));
    assertThat(HostNames.dmUuid(a)).isNotEqualTo(HostNames.dmUuid(b)).startsWith("cowherd-").hasSize(40);
  }

  @Test
  void longDmNamesAreCutToTheKernelLimitAndStayDistinct() {
    String pool = "p".repeat(200);
    String n1 = HostNames.dmName(new SlotId("lab", pool, 1));
    String n2 = HostNames.dmName(new SlotId("lab", pool, 2));
    assertThat(n1).hasSizeLessThanOrEqualTo(HostNames.MAX_DM_NAME).startsWith("cowherd-lab-ppp");
    assertThat(n1).isNotEqualTo(n2);
  }

  @Test
  void slotIdRejectsNamesThatCouldEscapeTheStateDir() {
    assertThatThrownBy(() -> new SlotId("..", "p", 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new SlotId("ns", "a/../b", 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new SlotId("ns", "a..b", 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new SlotId("ns", "p", 255)).isInstanceOf(IllegalArgumentException.class);
  }
}
