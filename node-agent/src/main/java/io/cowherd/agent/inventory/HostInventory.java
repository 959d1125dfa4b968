package io.cowherd.agent.inventory;

import io.cowherd.agent.host.HostNames;
import io.cowherd.agent.host.VbladeProcess;
import io.cowherd.agent.host.VbladeProcesses;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scans the host at agent start for what earlier agents left: COW stores under the state dir
 * (reflink clones {@code slot-<n>.img}, dm-snapshot COW files {@code slot-<n>.cow}) and running
 * vblade exporters. Nothing found is changed: COW stores are found again by path when their slot
 * is reconciled (never recreated), and exporters are adopted by exact argv by {@link
 * io.cowherd.agent.export.VbladeSupervisor} in the slot's first reconcile, which JOSDK runs for
 * every existing slot right after start. So an agent restart neither duplicates an exporter nor
 * loses COW data.
 */
public final class HostInventory {
  private static final Logger LOG = LoggerFactory.getLogger(HostInventory.class);

  private final HostNames names;
  private final VbladeProcesses processes;

  public HostInventory(HostNames names, VbladeProcesses processes) {
    this.names = names;
    this.processes = processes;
  }

  /**
   * What the host holds.
   *
   * @param cowStores COW store files under the state dir
   * @param exporters running vblade processes (ours and others)
   */
  public record Inventory(List<Path> cowStores, List<VbladeProcess> exporters) {
    public Inventory {
      cowStores = List.copyOf(cowStores);
      exporters = List.copyOf(exporters);
    }
  }

  /** Scans the state dir and {@code /proc}. Reads only. */
  public Inventory scan() {
    List<Path> stores;
    if (Files.isDirectory(names.stateDir())) {
      try (Stream<Path> files = Files.walk(names.stateDir(), 3)) {
        stores = files.filter(HostInventory::isCowStore).sorted().toList();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot scan state dir " + names.stateDir() + ": " + e.getMessage(), e);
      }
    } else {
      stores = List.of();
    }
    return new Inventory(stores, processes.scan());
  }

  /** Scans and logs what an agent start will adopt. */
  public Inventory scanAndLog() {
    Inventory inv = scan();
    LOG.info("host inventory: {} COW store(s) under {}, {} vblade exporter(s) running", inv.cowStores().size(),
        names.stateDir(), inv.exporters().size());
    inv.cowStores().forEach(p -> LOG.info("  COW store {}", p));
    inv.exporters().forEach(p -> LOG.info("  exporter pid {}: {} options {}", p.pid(), p.target(), p.options()));
    return inv;
  }

  private static boolean isCowStore(Path p) {
    String name = p.getFileName().toString();
    return Files.isRegularFile(p) && name.startsWith("slot-") && (name.endsWith(".img") || name.endsWith(".cow"));
  }
}
