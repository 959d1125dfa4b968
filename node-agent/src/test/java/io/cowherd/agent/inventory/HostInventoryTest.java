package io.cowherd.agent.inventory;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.Vblade;
import io.cowherd.agent.host.VbladeProcesses;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The start-up inventory reads the state dir while other processes may change it. */
class HostInventoryTest {
  @TempDir Path tmp;

  private HostInventory inventory(Path stateDir) throws IOException {
    Path proc = Files.createDirectories(tmp.resolve("proc"));
    return new HostInventory(new HostNames(stateDir), new VbladeProcesses(proc, new Vblade("vblade")));
  }

  @Test
  void findsCowStoresAndLeftoverPartialClones() throws IOException {
    Path state = Files.createDirectories(tmp.resolve("state"));
    Path pool = Files.createDirectories(state.resolve("lab/debian"));
    Files.writeString(pool.resolve("slot-0.img"), "clone");
    Files.writeString(pool.resolve("slot-1.cow"), "cow");
    Files.writeString(pool.resolve("slot-2.img.partial"), "interrupted clone");
    Files.writeString(pool.resolve("slot-0.vblade.log"), "log");
    Files.writeString(state.resolve(".losetup.lock"), "");

    HostInventory.Inventory inv = inventory(state).scan();

    assertThat(inv.cowStores()).containsExactly(pool.resolve("slot-0.img"), pool.resolve("slot-1.cow"));
    assertThat(inv.partialClones()).containsExactly(pool.resolve("slot-2.img.partial"));
  }

  @Test
  void aMissingStateDirIsEmpty() throws IOException {
    HostInventory.Inventory inv = inventory(tmp.resolve("none")).scan();
    assertThat(inv.cowStores()).isEmpty();
    assertThat(inv.partialClones()).isEmpty();
  }

  @Test
  void anEntryThatVanishesDuringTheWalkIsSkipped() throws IOException {
    Path state = Files.createDirectories(tmp.resolve("state"));
    HostInventory.StoreCollector collector = new HostInventory.StoreCollector(state);
    // What walkFileTree reports when readdir listed an entry that was deleted before lstat.
    assertThat(collector.visitFileFailed(state.resolve("lab/gone/slot-1.cow"), new NoSuchFileException("gone")))
        .isEqualTo(java.nio.file.FileVisitResult.CONTINUE);
  }

  /**
   * Another teardown deletes pool directories while the agent starts: before the fix the walk
   * died with UncheckedIOException(NoSuchFileException) and the agent with it.
   */
  @Test
  void scanSurvivesTeardownsRunningConcurrently() throws Exception {
    Path state = Files.createDirectories(tmp.resolve("state"));
    HostInventory inventory = inventory(state);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Exception> churnFailure = new AtomicReference<>();
    Thread churn = Thread.ofPlatform().start(() -> {
      try {
        for (int round = 0; !stop.get(); round++) {
          for (int p = 0; p < 20; p++) {
            Path pool = Files.createDirectories(state.resolve("ns" + (p % 4)).resolve("pool" + p));
            for (int s = 0; s < 5; s++) {
              Files.writeString(pool.resolve("slot-" + s + (round % 2 == 0 ? ".img" : ".cow")), "x");
            }
          }
          for (int p = 0; p < 20; p++) {
            Path pool = state.resolve("ns" + (p % 4)).resolve("pool" + p);
            for (int s = 0; s < 5; s++) {
              Files.deleteIfExists(pool.resolve("slot-" + s + (round % 2 == 0 ? ".img" : ".cow")));
            }
            Files.deleteIfExists(pool);
          }
        }
      } catch (IOException e) {
        churnFailure.set(e);
      }
    });
    try {
      Instant end = Instant.now().plus(Duration.ofSeconds(3));
      int scans = 0;
      while (Instant.now().isBefore(end) || scans < 200) {
        try {
          inventory.scan();
        } catch (UncheckedIOException e) {
          throw new AssertionError("scan " + scans + " failed while files vanished: " + e.getMessage(), e);
        }
        scans++;
      }
    } finally {
      stop.set(true);
      churn.join();
    }
    assertThat(churnFailure.get()).isNull();
  }
}
