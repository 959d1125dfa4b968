package io.cowherd.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.Objects;

/**
 * Everything the node agent needs to build one slot, so the agent never reads the pool. Written
 * only by the operator; immutable fields are enforced by CEL.
 */
public class AoeBootSlotSpec {
  /** Name of the owning pool. */
  @Required
  @Size(min = 1, max = 52)
  @ValidationRule(value = "self == oldSelf", message = "pool is immutable")
  private String pool;

  /** AoE shelf (major address), 0 to 65534, not 4095. */
  @Required
  @Min(0)
  @Max(AoeBootPoolSpec.MAX_SHELF)
  @ValidationRule(value = "self != 4095", message = "shelf 4095 is ignored by the Linux aoe initiator")
  private Integer shelf;

  /** AoE slot (minor address), 0 to 254. */
  @Required
  @Min(0)
  @Max(254)
  @ValidationRule(value = "self == oldSelf", message = "slot is immutable")
  private Integer slot;

  /** Node whose agent builds and serves this slot; never changes while the node exists. */
  @Required
  @JsonProperty("nodeName")
  @ValidationRule(value = "self == oldSelf", message = "nodeName is immutable: COW data lives on the node")
  private String nodeName;

  /** Absolute host path of the origin image. */
  @Required
  @Size(min = 2, max = 4096)
  @Pattern("^/[^\\x00]*$")
  @ValidationRule(value = "!self.matches('(^|/)[.][.](/|$)')", message = "image must not contain a '..' path segment")
  private String image;

  /** Host network interface vblade binds to. */
  @Required
  @Pattern(AoeBootPoolSpec.INTERFACE_PATTERN)
  @JsonProperty("interface")
  private String interfaceName;

  /** COW store settings. */
  private CowSpec cow = new CowSpec();

  /** Exporter settings, copied from the pool; may change (the agent restarts the exporter). */
  private ExportSpec export = new ExportSpec();

  public AoeBootSlotSpec() {}

  public String getPool() {
    return pool;
  }

  public void setPool(String pool) {
    this.pool = pool;
  }

  public Integer getShelf() {
    return shelf;
  }

  public void setShelf(Integer shelf) {
    this.shelf = shelf;
  }

  public Integer getSlot() {
    return slot;
  }

  public void setSlot(Integer slot) {
    this.slot = slot;
  }

  public String getNodeName() {
    return nodeName;
  }

  public void setNodeName(String nodeName) {
    this.nodeName = nodeName;
  }

  public String getImage() {
    return image;
  }

  public void setImage(String image) {
    this.image = image;
  }

  @JsonProperty("interface")
  public String getInterface() {
    return interfaceName;
  }

  @JsonProperty("interface")
  public void setInterface(String interfaceName) {
    this.interfaceName = interfaceName;
  }

  public CowSpec getCow() {
    return cow;
  }

  public void setCow(CowSpec cow) {
    this.cow = cow;
  }

  /** The COW settings, defaults when unset. */
  public CowSpec cowOrDefault() {
    return cow == null ? new CowSpec() : cow;
  }

  public ExportSpec getExport() {
    return export;
  }

  public void setExport(ExportSpec export) {
    this.export = export;
  }

  /** Whether the exporter may acknowledge writes from the page cache; false (durable) when unset. */
  public boolean writeCacheOrDefault() {
    return export != null && export.writeCacheOrDefault();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AoeBootSlotSpec s
        && Objects.equals(pool, s.pool)
        && Objects.equals(shelf, s.shelf)
        && Objects.equals(slot, s.slot)
        && Objects.equals(nodeName, s.nodeName)
        && Objects.equals(image, s.image)
        && Objects.equals(interfaceName, s.interfaceName)
        && Objects.equals(cow, s.cow)
        && Objects.equals(export, s.export);
  }

  @Override
  public int hashCode() {
    return Objects.hash(pool, shelf, slot, nodeName, image, interfaceName, cow, export);
  }
}
