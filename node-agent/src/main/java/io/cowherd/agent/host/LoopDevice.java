package io.cowherd.agent.host;

import java.nio.file.Path;

/**
 * One attached loop device as {@code losetup --json --list} reports it.
 *
 * @param name device node, e.g. {@code /dev/loop3}
 * @param backFile backing file path (without losetup's {@code " (deleted)"} suffix)
 * @param readOnly whether the device is read-only
 * @param majMin kernel device number {@code major:minor}, e.g. {@code 7:3}
 * @param backFileDeleted whether the backing file was deleted while attached
 */
public record LoopDevice(String name, Path backFile, boolean readOnly, String majMin, boolean backFileDeleted) {}
