package io.cowherd.agent.inventory;

import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.agent.host.VbladeProcesses;
import java.io.IOException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scans the host at agent start for what earlier agents left: COW stores under the state dir
 * (reflink clones {@code slot-<n>.img}, dm-snapshot COW files {@code slot-<n>.cow}), clones a
 * crash interrupted ({@code slot-<n>.img.partial}, never exported, deleted when their slot is next
 * provisioned) and running vblade exporters. Nothing found is changed: COW stores are found again
 * by path when their slot is reconciled (never recreated), and exporters are adopted by exact argv
 * by {@link io.cowherd.agent.export.VbladeSupervisor} in the slot's first reconcile, which JOSDK
 * runs for every existing slot right after start. So an agent restart neither duplicates an
 * exporter nor loses COW data.
 *
 * <p>The state dir may change during the scan (a teardown still running in another process, a
 * second agent): entries that vanish are skipped, and an entry that cannot be read is logged and
 * skipped. The inventory is a report; it never stops the agent from starting.
 */
public final class HostInventory {
  private static final Logger LOG = LoggerFactory.getLogger(HostInventory.class);
  /** {@code <stateDir>/<namespace>/<pool>/slot-<n>.*}: three levels. */
  private static final int DEPTH = 3;

  private final HostNames names;
  private final VbladeProcesses processes;

  public HostInventory(HostNames names, VbladeProcesses processes) {
    this.names = names;
    this.processes = processes;
  }

  /**
   * What the host holds.
   *
   * @param cowStores COW store files under the state dir, sorted
   * @param partialClones interrupted reflink clones under the state dir, sorted
   * @param exporters running vblade processes (ours and others)
   */
  public record Inventory(List<Path> cowStores, List<Path> partialClones, List<VbladeProcess> exporters) {
    public Inventory {
      cowStores = List.copyOf(cowStores);
      partialClones = List.copyOf(partialClones);
      exporters = List.copyOf(exporters);
    }
  }

  /** Scans the state dir and {@code /proc}. Reads only; never fails on a vanished entry. */
  public Inventory scan() {
    StoreCollector collector = new StoreCollector(names.stateDir());
    if (Files.isDirectory(names.stateDir())) {
      try {
        Files.walkFileTree(names.stateDir(), EnumSet.noneOf(FileVisitOption.class), DEPTH, collector);
      } catch (IOException e) {
        // Not thrown by the collector; only if the root itself cannot be walked.
        LOG.warn("cannot scan state dir {}: {}", names.stateDir(), e.toString());
      }
    }
    return new Inventory(collector.stores.stream().sorted().toList(), collector.partials.stream().sorted().toList(),
        processes.scan());
  }

  /** Scans and logs what an agent start will adopt. */
  public Inventory scanAndLog() {
    Inventory inv = scan();
    LOG.info("host inventory: {} COW store(s) under {}, {} vblade exporter(s) running", inv.cowStores().size(),
        names.stateDir(), inv.exporters().size());
    inv.cowStores().forEach(p -> LOG.info("  COW store {}", p));
    inv.partialClones().forEach(p -> LOG.info("  interrupted clone {} (never exported; replaced when its slot is"
        + " provisioned)", p));
    inv.exporters().forEach(p -> LOG.info("  exporter pid {}: {} options {}", p.pid(), p.target(), p.options()));
    return inv;
  }

  /** Collects store files; skips whatever vanishes or cannot be read. Package-private for tests. */
  static final class StoreCollector extends SimpleFileVisitor<Path> {
    private final Path root;
    final List<Path> stores = new ArrayList<>();
    final List<Path> partials = new ArrayList<>();

    StoreCollector(Path root) {
      this.root = root;
    }

    @Override
    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
      if (!attrs.isRegularFile()) {
        return FileVisitResult.CONTINUE;
      }
      String name = file.getFileName().toString();
      if (name.startsWith("slot-") && (name.endsWith(".img") || name.endsWith(".cow") || UnclaimedStores.isMovedAside(name))) {
        stores.add(file);
      } else if (name.startsWith("slot-") && name.endsWith(".img.partial")) {
        partials.add(file);
      }
      return FileVisitResult.CONTINUE;
    }

    /** An entry listed but gone before it was read (another teardown), or unreadable: skip it. */
    @Override
    public FileVisitResult visitFileFailed(Path file, IOException e) {
      if (e instanceof NoSuchFileException) {
        LOG.debug("{} vanished during the inventory", file);
      } else {
        LOG.warn("inventory skips {}: {}", file, e.toString());
      }
      return FileVisitResult.CONTINUE;
    }

    /** A directory whose listing failed part-way (e.g. removed while listed): keep what was seen. */
    @Override
    public FileVisitResult postVisitDirectory(Path dir, IOException e) {
      if (e != null && !(e instanceof NoSuchFileException)) {
        LOG.warn("inventory could not list all of {}: {}", dir, e.toString());
      }
      return FileVisitResult.CONTINUE;
    }

    @Override
    public String toString() {
      return "store collector under " + root;
    }
  }
}
