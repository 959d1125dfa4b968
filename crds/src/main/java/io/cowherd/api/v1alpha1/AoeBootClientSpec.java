package io.cowherd.api.v1alpha1;

import io.cowherd.api.MacAddress;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * One machine, known by its MAC, and the pool (and optionally the slot) it boots from. Written by
 * users, or by a node agent's boot endpoint when the pool enrols automatically.
 *
 * <p>{@code hostname} and {@code kernelArgs} go into the iPXE script the boot endpoint serves, so
 * they are limited to characters that have no meaning to iPXE's parser ({@code $}, quotes, {@code
 * #}, line breaks and control characters are refused).
 */
public class AoeBootClientSpec {
  /** Characters allowed in {@code kernelArgs}: printable ASCII without iPXE's $, quotes, #, \ and ;. */
  public static final String KERNEL_ARGS_PATTERN = "^[A-Za-z0-9 _.,:=/+@%-]*$";

  /**
   * The machine's boot NIC: a unicast MAC, six hex pairs joined by ':' (either case; cowherd
   * compares the lower-case form). Changing it re-binds the slot to a new NIC or board.
   */
  @Required
  @Pattern(MacAddress.PATTERN)
  private String mac;

  /** The pool (same namespace) whose slot this machine boots; immutable. */
  @Required
  @Size(min = 1, max = 52)
  @ValidationRule(value = "self == oldSelf", message = "pool is immutable: delete the client and create it in the other pool")
  private String pool;

  /**
   * The slot to pin this machine to (0 to 254; must be below the pool's replicas to be served).
   * Unset: the operator assigns a free slot once and keeps it.
   */
  @Min(0)
  @Max(254)
  private Integer slot;

  /** Host name handed to the boot script as {@code hostname=} on the kernel command line (RFC 1123 label). */
  @Size(max = 63)
  @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
  private String hostname;

  /** Extra kernel arguments handed to the boot script (at most 1024 characters, see {@link #KERNEL_ARGS_PATTERN}). */
  @Size(max = 1024)
  @Pattern(KERNEL_ARGS_PATTERN)
  private String kernelArgs;

  public String getMac() {
    return mac;
  }

  public void setMac(String mac) {
    this.mac = mac;
  }

  public String getPool() {
    return pool;
  }

  public void setPool(String pool) {
    this.pool = pool;
  }

  public Integer getSlot() {
    return slot;
  }

  public void setSlot(Integer slot) {
    this.slot = slot;
  }

  public String getHostname() {
    return hostname;
  }

  public void setHostname(String hostname) {
    this.hostname = hostname;
  }

  public String getKernelArgs() {
    return kernelArgs;
  }

  public void setKernelArgs(String kernelArgs) {
    this.kernelArgs = kernelArgs;
  }
}
