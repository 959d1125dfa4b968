package io.cowherd.agent.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The origin identity: its format, what it sees change, what the stamp keeps, and the one rule for new stores. */
class OriginIdentityTest {
  @TempDir Path tmp;

  @Test
  void formatParsesBackToTheSameIdentity() {
    OriginIdentity id = new OriginIdentity(2049, 131, 4 << 20, 1_764_669_353_000_000_007L);
    assertThat(id.format()).isEqualTo("dev=2049 ino=131 size=4194304 ctime=1764669353.000000007");
    assertThat(OriginIdentity.parse(id.format())).contains(id);
    assertThat(OriginIdentity.parse("dev=1 ino=2 size=3")).isEmpty();
    assertThat(OriginIdentity.parse("/images/a.img")).isEmpty();
  }

  @Test
  void changeNamesReplacementTruncationAndInPlaceWrites() {
    OriginIdentity id = new OriginIdentity(1, 10, 4096, 5_000_000_000L);
    assertThat(id.change(id)).isEmpty();
    assertThat(id.change(new OriginIdentity(1, 11, 4096, 5_000_000_000L))).get().asString()
        .startsWith("replaced by another file (device 1 inode 10 → device 1 inode 11)");
    assertThat(id.change(new OriginIdentity(1, 10, 0, 6_000_000_000L))).get().asString()
        .contains("truncated or extended (size 4096 → 0 bytes)").contains("changed in place");
    assertThat(id.change(new OriginIdentity(1, 10, 4096, 5_000_000_001L))).get().asString()
        .isEqualTo("changed in place (ctime 5.000000000 → 5.000000001)");
  }

  @Test
  void aWriteThatKeepsSizeAndMtimeStillChangesTheIdentity() throws IOException {
    Path origin = file("o.img", 1 << 20);
    FileTime mtime = Files.getLastModifiedTime(origin);
    OriginIdentity before = OriginIdentity.of(origin);
    awaitClockTick(before);
    try (RandomAccessFile f = new RandomAccessFile(origin.toFile(), "rw")) {
      f.seek(4096);
      f.write(new byte[512]);
    }
    Files.setLastModifiedTime(origin, mtime); // what touch -d / cp -p / rsync -t do
    assertThat(Files.getLastModifiedTime(origin)).isEqualTo(mtime);
    assertThat(Files.size(origin)).isEqualTo(1 << 20);
    assertThat(before.change(OriginIdentity.of(origin))).get().asString().startsWith("changed in place");
  }

  @Test
  void aFileRenamedOverTheOriginIsAnotherFile() throws IOException {
    Path origin = file("o.img", 1 << 20);
    OriginIdentity before = OriginIdentity.of(origin);
    Path replacement = file("new.img", 1 << 20);
    Files.move(replacement, origin, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    assertThat(before.change(OriginIdentity.of(origin))).get().asString().startsWith("replaced by another file");
  }

  @Test
  void readingTheOriginDoesNotChangeIt() throws IOException {
    Path origin = file("o.img", 1 << 20);
    OriginIdentity before = OriginIdentity.of(origin);
    Files.readAllBytes(origin);
    assertThat(OriginIdentity.of(origin)).isEqualTo(before);
  }

  @Test
  void aMissingOriginIsAnIoError() {
    assertThatThrownBy(() -> OriginIdentity.of(tmp.resolve("gone.img"))).hasMessageContaining("cannot stat origin");
  }

  @Test
  void stampRecordsTheRebuildTokenAndKeepsItAndTheServingObjectThroughEachOthersRewrites() throws IOException {
    Path origin = file("o2.img", 1 << 20);
    Path store = file("slot-2.img", 1 << 20);
    OriginIdentity id = OriginIdentity.of(origin);
    OriginStamp.write(store, origin, id);
    assertThat(OriginStamp.read(store).orElseThrow().rebuild()).as("a fresh stamp names no token").isEmpty();

    OriginStamp.recordRebuild(store, "reset-20261202T1400Z");
    OriginStamp.recordServedBy(store, "uid-a");
    assertThat(OriginStamp.read(store)).contains(new OriginStamp.Stamp(origin.toString(), Optional.of(id),
        Optional.of("uid-a"), Optional.of("reset-20261202T1400Z")));
    assertThat(Files.readAllLines(OriginStamp.of(store)))
        .containsExactly(origin.toString(), id.format(), "served-by uid-a", "rebuild reset-20261202T1400Z");
    OriginStamp.recordRebuild(store, "reboot-2026-12-02T15:00:00Z");
    assertThat(OriginStamp.read(store).orElseThrow().servedBy()).contains("uid-a");
    assertThat(OriginStamp.read(store).orElseThrow().rebuild()).contains("reboot-2026-12-02T15:00:00Z");

    Files.writeString(OriginStamp.of(store), origin + "\n"); // an older agent's stamp: no identity
    OriginStamp.recordRebuild(store, "reset-x");
    assertThat(OriginStamp.read(store).orElseThrow().rebuild()).as("only over a stamp with an identity").isEmpty();
  }

  @Test
  void stampRecordsTheSlotObjectThatServesTheStoreAndKeepsItThroughOtherRewrites() throws IOException {
    Path origin = file("o.img", 1 << 20);
    Path store = file("slot-1.img", 1 << 20);
    OriginIdentity id = OriginIdentity.of(origin);
    OriginStamp.write(store, origin, id);
    assertThat(OriginStamp.read(store).orElseThrow().servedBy()).as("a fresh stamp names no object yet").isEmpty();

    OriginStamp.recordServedBy(store, "uid-a");
    assertThat(OriginStamp.read(store)).contains(new OriginStamp.Stamp(origin.toString(), Optional.of(id), Optional.of("uid-a")));
    OriginStamp.recordServedBy(store, "uid-b"); // adopted by the slot's next object
    assertThat(OriginStamp.read(store).orElseThrow().servedBy()).contains("uid-b");

    Files.writeString(OriginStamp.of(store), origin + "\n" + id.format() + "\n"); // an older agent's stamp
    assertThat(OriginStamp.read(store).orElseThrow().servedBy()).isEmpty();
    Files.writeString(OriginStamp.of(store), origin + "\n"); // older still: no identity
    OriginStamp.recordServedBy(store, "uid-c");
    assertThat(OriginStamp.read(store).orElseThrow().servedBy()).as("needs the identity recorded first").isEmpty();
    OriginStamp.recordIfMissing(store, origin, id);
    OriginStamp.recordServedBy(store, "uid-c");
    OriginStamp.recordIfMissing(store, origin, id);
    assertThat(OriginStamp.read(store).orElseThrow().servedBy()).contains("uid-c");
  }

  @Test
  void movingAsideRenamesStoreAndStampAndDeletesNothing() throws IOException {
    Path origin = file("o.img", 1 << 20);
    Path store = file("slot-3.img", 1 << 20);
    OriginStamp.write(store, origin, OriginIdentity.of(origin));
    java.time.Instant now = java.time.Instant.parse("2025-01-02T03:04:05Z");

    Path aside = OriginStamp.moveAside(store, now);
    Path second = file("slot-3.img", 1 << 20);
    Path asideAgain = OriginStamp.moveAside(second, now);

    assertThat(aside.getFileName()).hasToString("slot-3.img.abandoned-20250102T030405Z");
    assertThat(asideAgain.getFileName()).hasToString("slot-3.img.abandoned-20250102T030405Z-1");
    assertThat(store).doesNotExist();
    assertThat(OriginStamp.of(store)).doesNotExist();
    assertThat(aside).hasSize(1 << 20);
    assertThat(OriginStamp.read(aside).orElseThrow().path()).isEqualTo(origin.toString());
  }

  @Test
  void stampKeepsPathAndIdentityAndOldStampsGetTheirIdentityRecorded() throws IOException {
    Path origin = file("o.img", 1 << 20);
    Path store = file("slot-0.img", 1 << 20);
    OriginIdentity id = OriginIdentity.of(origin);
    OriginStamp.write(store, origin, id);
    assertThat(OriginStamp.read(store)).contains(new OriginStamp.Stamp(origin.toString(), Optional.of(id), Optional.empty()));
    OriginStamp.check(store, origin); // same path: no conflict

    Files.writeString(OriginStamp.of(store), origin + "\n"); // what an older agent wrote
    OriginStamp.Verdict old = OriginStamp.verify(store, origin, id);
    assertThat(old.stamped()).isEmpty();
    assertThat(old.change()).isEmpty();
    OriginStamp.recordIfMissing(store, origin, id);
    assertThat(OriginStamp.read(store).flatMap(OriginStamp.Stamp::identity)).contains(id);

    OriginIdentity later = new OriginIdentity(id.device(), id.inode(), id.sizeBytes(), id.ctimeNanos() + 1);
    OriginStamp.recordIfMissing(store, origin, later); // a recorded identity is never overwritten
    OriginStamp.Verdict changed = OriginStamp.verify(store, origin, later);
    assertThat(changed.serves()).isEqualTo(id);
    assertThat(changed.change()).get().asString().startsWith("changed in place");
  }

  @Test
  void noNewStoreFromAnOriginThatChangedSinceThePoolsOtherStoresWereMade() throws IOException {
    Path origin = file("o.img", 1 << 20);
    Path pool = Files.createDirectories(tmp.resolve("pool"));
    Path store = Files.createFile(pool.resolve("slot-0.img"));
    OriginIdentity id = OriginIdentity.of(origin);
    OriginStamp.write(store, origin, id);
    OriginStamp.refuseNewStore(pool, origin, id); // unchanged: allowed
    OriginStamp.refuseNewStore(pool, tmp.resolve("other.img"), id); // stores of another origin do not count

    OriginIdentity changed = new OriginIdentity(id.device(), id.inode() + 1, id.sizeBytes(), id.ctimeNanos());
    assertThatThrownBy(() -> OriginStamp.refuseNewStore(pool, origin, changed))
        .isInstanceOf(OriginChangedException.class).hasMessageContaining(store.toString())
        .hasMessageContaining("replaced by another file");

    Files.delete(store); // a stamp left without its store (crash before the rename) does not count
    OriginStamp.refuseNewStore(pool, origin, changed);
  }

  @Test
  void identitiesAreReadOncePerFreshPeriod() throws IOException {
    Path origin = file("o.img", 4096);
    AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));
    Clock clock = new Clock() {
      @Override public ZoneOffset getZone() { return ZoneOffset.UTC; }
      @Override public Clock withZone(java.time.ZoneId zone) { return this; }
      @Override public Instant instant() { return now.get(); }
    };
    OriginIdentities identities = new OriginIdentities(clock);
    OriginIdentity first = identities.current(origin);
    Files.setPosixFilePermissions(origin, PosixFilePermissions.fromString("r--------")); // bumps ctime
    awaitClockTick(first);
    Files.setPosixFilePermissions(origin, PosixFilePermissions.fromString("rw-------"));
    assertThat(identities.current(origin)).isEqualTo(first);
    now.set(now.get().plus(OriginIdentities.FRESH).plus(Duration.ofMillis(1)));
    assertThat(identities.current(origin)).isNotEqualTo(first).isEqualTo(OriginIdentity.of(origin));
  }

  private Path file(String name, int bytes) throws IOException {
    Path p = tmp.resolve(name);
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(bytes);
    }
    return p;
  }

  /** Waits until the filesystem clock (coarse: one jiffy) has moved past {@code id}'s ctime. */
  private void awaitClockTick(OriginIdentity id) throws IOException {
    Path probe = tmp.resolve("tick");
    long deadline = System.nanoTime() + 1_000_000_000L;
    do {
      Files.deleteIfExists(probe);
      Files.createFile(probe);
    } while (OriginIdentity.of(probe).ctimeNanos() <= id.ctimeNanos() && System.nanoTime() < deadline);
  }
}
