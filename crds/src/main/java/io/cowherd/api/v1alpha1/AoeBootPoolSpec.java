package io.cowherd.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.model.annotation.SpecReplicas;

/**
 * What a user asks of a pool. Validated at admission by the CRD schema and CEL rules.
 *
 * <p>A CEL transition rule on a field runs only when the field exists in both the old and the new
 * object, so the immutable optional field {@code cow} is also defaulted ({@code {}}, then its own
 * defaults) and guarded by a rule on this object: removing or adding it is refused too. {@code
 * shelf} is required, so its rule always runs. {@code image} may change: each slot keeps serving
 * the origin it was built from until {@code updateStrategy} or a reset moves it.
 */
@ValidationRule(
    value = "has(self.cow) == has(oldSelf.cow)",
    message = "cow is immutable: it cannot be added or removed on an existing pool; create a new pool")
public class AoeBootPoolSpec {
  /** Largest shelf a target may use; 65535 is the AoE broadcast shelf (AoE spec rev 11, 3.1). */
  public static final int MAX_SHELF = 65534;
  /** Shelf the Linux aoe initiator ignores (drivers/block/aoe/aoecmd.c drops major 0xfff). */
  public static final int LINUX_IGNORED_SHELF = 4095;
  /** Most slots in a pool: slots 0..254; 255 is the AoE broadcast slot (AoE spec rev 11, 3.1). */
  public static final int MAX_REPLICAS = 255;
  /**
   * Interface names: 1 to 15 characters (IFNAMSIZ − 1, linux/if.h) of [A-Za-z0-9._-]; not starting
   * with '-' (vblade would read it as an option) or '.'.
   */
  public static final String INTERFACE_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9._-]{0,14}$";

  /**
   * Absolute host path of the origin image; must lie under one of the agent's allowed image roots.
   * May change: slots built from the previous image keep serving it until moved ({@code
   * updateStrategy}, or a reset); publish each new origin as a new file.
   */
  @Required
  @Size(min = 2, max = 4096)
  @Pattern("^/[^\\x00]*$")
  @ValidationRule(
      value = "!self.matches('(^|/)[.][.](/|$)')",
      message = "image must not contain a '..' path segment")
  private String image;

  /**
   * How slots move to a changed {@code image}: {@code Manual} (default; only a reset moves a slot)
   * or {@code OnReboot} (a stale slot is rebuilt on the new image when its client asks for its
   * boot script). May change.
   */
  @Default("Manual")
  private UpdateStrategy updateStrategy = UpdateStrategy.Manual;

  /**
   * Optional pacing: also move stale slots whose clients were silent on the wire for {@code
   * silentFor}, at most {@code maxUnavailable} at once. Unset: off. May change.
   */
  private IdleUpdateSpec idleUpdate;

  /** Number of client slots (targets e<shelf>.0 .. e<shelf>.<replicas-1>), 0 to 255. */
  @SpecReplicas
  @Min(0)
  @Max(MAX_REPLICAS)
  private Integer replicas = 1;

  /** Host network interface vblade binds to: 1 to 15 characters of [A-Za-z0-9._-], not starting with '-' or '.'. */
  @Required
  @Pattern(INTERFACE_PATTERN)
  @JsonProperty("interface")
  private String interfaceName;

  /** AoE shelf (major address) of every target in the pool: 0 to 65534, not 4095. */
  @Required
  @Min(0)
  @Max(MAX_SHELF)
  @ValidationRule(value = "self != 4095", message = "shelf 4095 is ignored by the Linux aoe initiator")
  @ValidationRule(
      value = "self == oldSelf",
      message = "shelf is immutable: changing it would move every client's target; create a new pool")
  private Integer shelf;

  /** COW store settings for every slot; immutable (existing COW stores were made with them). */
  @Default("{}")
  @ValidationRule(
      value = "self == oldSelf",
      message = "cow is immutable: existing COW stores were made with these settings; create a new pool")
  private CowSpec cow = new CowSpec();

  /** Exporter settings for every slot: {@code writeCache} (default false: durable writes). May change. */
  private ExportSpec export = new ExportSpec();

  /**
   * What scale-down and pool deletion do with a removed slot's COW store: Delete (default) removes
   * it, Retain keeps it on its node for a later scale-up. May change on a live pool.
   */
  @Default("Delete")
  private ReclaimPolicy reclaimPolicy = ReclaimPolicy.Delete;

  /**
   * Client settings: enrollment ({@code Manual} default, or {@code Automatic} with optional MAC
   * prefixes and a rate) and MAC binding of each slot's exporter (default on). May change.
   */
  private ClientsSpec clients = new ClientsSpec();

  public String getImage() {
    return image;
  }

  public void setImage(String image) {
    this.image = image;
  }

  public UpdateStrategy getUpdateStrategy() {
    return updateStrategy;
  }

  public void setUpdateStrategy(UpdateStrategy updateStrategy) {
    this.updateStrategy = updateStrategy;
  }

  public IdleUpdateSpec getIdleUpdate() {
    return idleUpdate;
  }

  public void setIdleUpdate(IdleUpdateSpec idleUpdate) {
    this.idleUpdate = idleUpdate;
  }

  /** The update strategy, {@link UpdateStrategy#Manual} when unset. */
  public UpdateStrategy updateStrategyOrDefault() {
    return updateStrategy == null ? UpdateStrategy.Manual : updateStrategy;
  }

  public Integer getReplicas() {
    return replicas;
  }

  public void setReplicas(Integer replicas) {
    this.replicas = replicas;
  }

  @JsonProperty("interface")
  public String getInterface() {
    return interfaceName;
  }

  @JsonProperty("interface")
  public void setInterface(String interfaceName) {
    this.interfaceName = interfaceName;
  }

  public Integer getShelf() {
    return shelf;
  }

  public void setShelf(Integer shelf) {
    this.shelf = shelf;
  }

  public CowSpec getCow() {
    return cow;
  }

  public void setCow(CowSpec cow) {
    this.cow = cow;
  }

  public ExportSpec getExport() {
    return export;
  }

  public void setExport(ExportSpec export) {
    this.export = export;
  }

  public ReclaimPolicy getReclaimPolicy() {
    return reclaimPolicy;
  }

  public void setReclaimPolicy(ReclaimPolicy reclaimPolicy) {
    this.reclaimPolicy = reclaimPolicy;
  }

  public ClientsSpec getClients() {
    return clients;
  }

  public void setClients(ClientsSpec clients) {
    this.clients = clients;
  }

  /** The client settings, defaults when unset. */
  public ClientsSpec clientsOrDefault() {
    return clients == null ? new ClientsSpec() : clients;
  }

  /** The reclaim policy, {@link ReclaimPolicy#Delete} when unset. */
  public ReclaimPolicy reclaimPolicyOrDefault() {
    return reclaimPolicy == null ? ReclaimPolicy.Delete : reclaimPolicy;
  }

  /** The replica count, 0 when unset. */
  public int replicasOrZero() {
    return replicas == null ? 0 : replicas;
  }

  /** The COW settings, defaults when unset. */
  public CowSpec cowOrDefault() {
    return cow == null ? new CowSpec() : cow;
  }
}
