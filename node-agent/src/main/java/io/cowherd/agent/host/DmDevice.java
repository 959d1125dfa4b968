package io.cowherd.agent.host;

/**
 * A device-mapper device as {@code dmsetup info} reports it.
 *
 * @param name dm name
 * @param uuid dm UUID, empty if none
 * @param majMin kernel device number {@code major:minor}, e.g. {@code 254:3}; empty if unknown
 */
public record DmDevice(String name, String uuid, String majMin) {
  /** A device whose number is not known. */
  public DmDevice(String name, String uuid) {
    this(name, uuid, "");
  }
}
