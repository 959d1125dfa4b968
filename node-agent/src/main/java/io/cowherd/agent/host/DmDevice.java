package io.cowherd.agent.host;

/**
 * A device-mapper device as {@code dmsetup info} reports it.
 *
 * @param name dm name
 * @param uuid dm UUID, empty if none
 */
public record DmDevice(String name, String uuid) {}
