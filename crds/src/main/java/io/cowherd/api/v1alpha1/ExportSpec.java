package io.cowherd.api.v1alpha1;

import io.fabric8.generator.annotation.Default;
import java.util.Objects;

/**
 * How each slot's exporter (vblade) serves its COW store. May change on a live pool: the node
 * agent restarts the affected exporters (clients see a short pause, no error within their
 * {@code aoe_deadsecs}).
 */
public class ExportSpec {
  /**
   * {@code false} (default): durable. Every write is on the node's disk before the client gets its
   * acknowledgement (vblade {@code -s}, O_SYNC), so a node power loss loses no acknowledged write.
   * {@code true}: writes are acknowledged from the node's page cache and reach its disk with
   * writeback (about 30 s later with Linux defaults); faster, but a node power loss or kernel crash
   * loses what the clients wrote in that window, fsync included (vblade 25 answers ATA FLUSH CACHE
   * without flushing). See docs/install.md, "Durability".
   */
  @Default("false")
  private Boolean writeCache = false;

  public ExportSpec() {}

  public ExportSpec(Boolean writeCache) {
    this.writeCache = writeCache;
  }

  public Boolean getWriteCache() {
    return writeCache;
  }

  public void setWriteCache(Boolean writeCache) {
    this.writeCache = writeCache;
  }

  /** Whether writes may be acknowledged from the page cache; {@code false} (durable) when unset. */
  public boolean writeCacheOrDefault() {
    return Boolean.TRUE.equals(writeCache);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ExportSpec e && Objects.equals(writeCache, e.writeCache);
  }

  @Override
  public int hashCode() {
    return Objects.hashCode(writeCache);
  }
}
