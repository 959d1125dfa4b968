package io.cowherd.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.cowherd.api.MacAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Everything the node agent needs to build one slot, so the agent never reads the pool. Written
 * only by the operator; immutable fields are enforced by CEL.
 */
public class AoeBootSlotSpec {
  /**
   * Most client MACs per slot: vblade keeps at most 32 ({@code Nmacs} in vblade 25's dat.h), and
   * the node agent's own probing MAC takes one.
   */
  public static final int MAX_ALLOWED_MACS = 31;

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

  /**
   * Absolute host path of the origin this slot is built from. The operator sets it to the pool's
   * image when it creates the slot and changes it only together with {@code rebuild} (a reset, or
   * {@code OnReboot}), so a pool's image change alone moves no slot.
   */
  @Required
  @Size(min = 2, max = 4096)
  @Pattern("^/[^\\x00]*$")
  @ValidationRule(value = "!self.matches('(^|/)[.][.](/|$)')", message = "image must not contain a '..' path segment")
  private String image;

  /**
   * The pool's current image, for status only: the agent reports the slot {@code stale} when it
   * is another path than {@code image}. Absent: the same as {@code image}.
   */
  @Size(min = 2, max = 4096)
  @Pattern("^/[^\\x00]*$")
  private String poolImage;

  /**
   * Rebuild token: when set and different from the token the slot's COW store was built for, the
   * node agent discards the store (exporter stopped, devices and COW data removed) and builds a new
   * one from {@code image}. Written only by the operator ({@code io.cowherd.api.SlotOrigins}).
   */
  @Pattern(io.cowherd.api.SlotOrigins.TOKEN_PATTERN)
  private String rebuild;

  /**
   * Absolute path of a new origin file to capture this slot's disk (origin plus COW data) into,
   * under one of the node agent's image roots; never an existing file. Written only by the operator
   * (from the user's annotation {@code cowherd.io/capture-to}, once the client is not seen doing
   * I/O); the agent acts on each new value once and reports it in {@code status.capture}.
   */
  @Size(min = 2, max = 4096)
  @Pattern("^/[^\\x00]*$")
  private String capture;

  public String getCapture() {
    return capture;
  }

  public void setCapture(String capture) {
    this.capture = capture;
  }

  /** Host network interface vblade binds to. */
  @Required
  @Pattern(AoeBootPoolSpec.INTERFACE_PATTERN)
  @JsonProperty("interface")
  private String interfaceName;

  /** COW store settings. */
  private CowSpec cow = new CowSpec();

  /** Exporter settings, copied from the pool; may change (the agent restarts the exporter). */
  private ExportSpec export = new ExportSpec();

  /**
   * The client MACs this slot's exporter serves (lower-case colon form), at most {@link
   * #MAX_ALLOWED_MACS}: the node agent adds its own probing MAC and starts vblade with {@code -m}
   * (vblade(8): only those senders are answered). Empty or unset: any host on the segment. Written
   * by the operator from the slot's AoeBootClient; may change (the agent restarts this exporter only).
   */
  @Size(max = MAX_ALLOWED_MACS)
  private List<@Pattern(MacAddress.PATTERN) String> allowedMacs = new ArrayList<>();

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

  public String getPoolImage() {
    return poolImage;
  }

  public void setPoolImage(String poolImage) {
    this.poolImage = poolImage;
  }

  public String getRebuild() {
    return rebuild;
  }

  public void setRebuild(String rebuild) {
    this.rebuild = rebuild;
  }

  /** The pool's image, {@code image} when unset. */
  public String poolImageOrImage() {
    return poolImage == null ? image : poolImage;
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

  public List<String> getAllowedMacs() {
    return allowedMacs;
  }

  public void setAllowedMacs(List<String> allowedMacs) {
    this.allowedMacs = allowedMacs;
  }

  /** The allowed MACs, normalised (lower case) and in order; empty when unset. */
  public List<String> allowedMacsOrEmpty() {
    return allowedMacs == null ? List.of()
        : allowedMacs.stream().map(m -> m.toLowerCase(java.util.Locale.ROOT)).toList();
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
        && Objects.equals(poolImage, s.poolImage)
        && Objects.equals(rebuild, s.rebuild)
        && Objects.equals(interfaceName, s.interfaceName)
        && Objects.equals(cow, s.cow)
        && Objects.equals(export, s.export)
        && allowedMacsOrEmpty().equals(s.allowedMacsOrEmpty());
  }

  @Override
  public int hashCode() {
    return Objects.hash(pool, shelf, slot, nodeName, image, poolImage, rebuild, interfaceName, cow, export, allowedMacsOrEmpty());
  }
}
