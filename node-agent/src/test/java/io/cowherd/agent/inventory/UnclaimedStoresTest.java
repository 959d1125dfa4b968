package io.cowherd.agent.inventory;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.SlotId;
import io.cowherd.agent.inventory.UnclaimedStores.UnclaimedStore;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnclaimedStoresTest {
  @TempDir Path state;

  @Test
  void storesWithoutASlotObjectInAWatchedNamespaceAreUnclaimed() throws IOException {
    HostNames names = new HostNames(state);
    Path claimed = store("lab/debian/slot-0.img", 4096);
    Path kept = store("lab/debian/slot-1.cow", 8192);
    Path otherNamespace = store("other/debian/slot-0.img", 512);
    Path notAStore = store("lab/debian/slot-x.img", 1);

    List<UnclaimedStore> found = UnclaimedStores.find(names, List.of(claimed, kept, otherNamespace, notAStore),
        Set.of(new SlotId("lab", "debian", 0)), "lab"::equals);

    assertThat(found).containsExactly(new UnclaimedStore(new SlotId("lab", "debian", 1), kept, 8192));
  }

  @Test
  void aStoreMovedAsideIsUnclaimedEvenWhileASlotObjectOfItsNumberExists() throws IOException {
    HostNames names = new HostNames(state);
    Path served = store("lab/debian/slot-0.img", 4096);
    Path aside = store("lab/debian/slot-0.img.abandoned-20250101T000000Z", 8192);
    Path stamp = store("lab/debian/slot-0.img.abandoned-20250101T000000Z.origin", 10);

    List<UnclaimedStore> found = UnclaimedStores.find(names, List.of(served, aside, stamp),
        Set.of(new SlotId("lab", "debian", 0)), "lab"::equals);

    assertThat(found).containsExactly(new UnclaimedStore(new SlotId("lab", "debian", 0), aside, 8192));
    assertThat(UnclaimedStores.isMovedAside("slot-0.img.abandoned-20250101T000000Z-1")).isTrue();
    assertThat(UnclaimedStores.isMovedAside("slot-0.img.abandoned-20250101T000000Z.origin")).isFalse();
  }

  @Test
  void pathsOfAnotherShapeNameNoSlot() {
    HostNames names = new HostNames(state);
    assertThat(UnclaimedStores.slotOf(names, state.resolve("lab/slot-0.img"))).isEmpty();
    assertThat(UnclaimedStores.slotOf(names, state.resolve("lab/debian/x/slot-0.img"))).isEmpty();
    assertThat(UnclaimedStores.slotOf(names, state.resolve("lab/debian/slot-0.vblade.log"))).isEmpty();
    assertThat(UnclaimedStores.slotOf(names, state.resolve("lab/debian/slot-254.cow")))
        .contains(new SlotId("lab", "debian", 254));
  }

  private Path store(String relative, long sizeBytes) throws IOException {
    Path p = state.resolve(relative);
    Files.createDirectories(p.getParent());
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(sizeBytes);
    }
    return p;
  }
}
