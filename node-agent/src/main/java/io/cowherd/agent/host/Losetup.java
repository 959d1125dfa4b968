package io.cowherd.agent.host;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code losetup(8)}: builds argv, runs it through the {@link CommandRunner}, parses the output.
 * Origins are attached read-only ({@code --read-only}), so nothing written to the loop device can
 * reach the origin file.
 *
 * <p>Attaching ({@code --find --show}) runs under a {@link NodeLock}, so two attaches on this node
 * never race for the same free loop device, and is retried a few times if the kernel still answers
 * EBUSY (a loop device taken by a program outside the lock between find and configure).
 */
public final class Losetup {
  private static final Logger LOG = LoggerFactory.getLogger(Losetup.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String DELETED_SUFFIX = " (deleted)";
  /** Attempts of one attach while the kernel answers EBUSY. */
  static final int ATTACH_ATTEMPTS = 5;
  /** Pause after the first EBUSY; grows linearly with each attempt. */
  static final Duration BUSY_PAUSE = Duration.ofMillis(50);

  private final CommandRunner runner;
  private final NodeLock attachLock;

  /** losetup with an in-process attach lock (tests, single-process use). */
  public Losetup(CommandRunner runner) {
    this(runner, NodeLock.inProcess());
  }

  /**
   * @param attachLock held around every attach; the node agent passes one on a file in its state
   *     dir so every agent process on the node shares it
   */
  public Losetup(CommandRunner runner, NodeLock attachLock) {
    this.runner = runner;
    this.attachLock = attachLock;
  }

  /** argv attaching {@code file} read-only on the first free loop device and printing its name. */
  public static HostCommand attachReadOnlyCommand(Path file) {
    return HostCommand.of("losetup", "--read-only", "--find", "--show", file.toString());
  }

  /** argv attaching {@code file} read-write on the first free loop device and printing its name. */
  public static HostCommand attachCommand(Path file) {
    return HostCommand.of("losetup", "--find", "--show", file.toString());
  }

  /** argv listing every loop device as JSON with the columns {@link #parseList} reads. */
  public static HostCommand listCommand() {
    return HostCommand.of("losetup", "--json", "--list", "--output", "NAME,BACK-FILE,RO,MAJ:MIN");
  }

  /** argv detaching {@code device}. */
  public static HostCommand detachCommand(String device) {
    return HostCommand.of("losetup", "--detach", device);
  }

  /**
   * Attaches {@code file} read-only.
   *
   * @return the loop device node, e.g. {@code /dev/loop3}
   * @throws CommandFailedException if losetup fails (no free loop device, unreadable file)
   */
  public String attachReadOnly(Path file) {
    return attach(attachReadOnlyCommand(file));
  }

  /**
   * Attaches {@code file} read-write.
   *
   * @return the loop device node
   * @throws CommandFailedException if losetup fails
   */
  public String attach(Path file) {
    return attach(attachCommand(file));
  }

  private String attach(HostCommand command) {
    return attachLock.call(() -> {
      for (int attempt = 1; ; attempt++) {
        try {
          return deviceFrom(runner.run(command));
        } catch (CommandFailedException e) {
          if (!isBusy(e) || attempt == ATTACH_ATTEMPTS) {
            throw e;
          }
          LOG.info("{}: loop device busy (attempt {} of {}), trying again", command, attempt, ATTACH_ATTEMPTS);
          pause(BUSY_PAUSE.multipliedBy(attempt));
        }
      }
    });
  }

  private static void pause(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting to attach a loop device", e);
    }
  }

  /**
   * Every attached loop device.
   *
   * @throws CommandFailedException if losetup fails
   * @throws IllegalStateException if its output is not the expected JSON
   */
  public List<LoopDevice> list() {
    return parseList(runner.run(listCommand()).stdout());
  }

  /**
   * Loop devices whose backing file is {@code file}, lowest device first. The kernel reports the
   * path it opened with symlinks resolved, so {@code file}'s real path matches too.
   */
  public List<LoopDevice> findByBackFile(Path file) {
    Path real = realPathOrSelf(file);
    return list().stream()
        .filter(d -> !d.backFileDeleted() && d.backFile() != null && (d.backFile().equals(file) || d.backFile().equals(real)))
        .sorted((a, b) -> a.name().compareTo(b.name()))
        .toList();
  }

  /**
   * Detaches {@code device}. The kernel may defer the detach while the device is open (autoclear),
   * so callers verify with {@link #findByBackFile}.
   *
   * @throws CommandFailedException if losetup fails; {@link #isNotFound} tells an already detached
   *     device
   */
  public void detach(String device) {
    runner.run(detachCommand(device));
  }

  /** Whether {@code e} says the kernel refused a loop device as busy (EBUSY). */
  public static boolean isBusy(CommandFailedException e) {
    return e.stderr().contains("Device or resource busy");
  }

  private static Path realPathOrSelf(Path file) {
    try {
      return Files.exists(file) ? file.toRealPath() : file;
    } catch (IOException e) {
      return file;
    }
  }

  /** Whether {@code e} says the loop device is not attached or does not exist. */
  public static boolean isNotFound(CommandFailedException e) {
    return e.stderr().contains("No such device");
  }

  /**
   * Parses {@code losetup --json --list --output NAME,BACK-FILE,RO,MAJ:MIN}. Empty output (no loop
   * devices on older util-linux) yields an empty list; {@code ro} may be a boolean or "0"/"1".
   *
   * @throws IllegalStateException if the output is not that JSON
   */
  public static List<LoopDevice> parseList(String json) {
    if (json.isBlank()) {
      return List.of();
    }
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new IllegalStateException("losetup --json printed something that is not JSON: " + e.getMessage(), e);
    }
    JsonNode devices = root.path("loopdevices");
    if (!devices.isArray()) {
      throw new IllegalStateException("losetup --json output has no loopdevices array: " + json.strip());
    }
    List<LoopDevice> result = new ArrayList<>();
    for (JsonNode d : devices) {
      String back = d.path("back-file").isTextual() ? d.path("back-file").asText() : null;
      boolean deleted = back != null && back.endsWith(DELETED_SUFFIX);
      if (deleted) {
        back = back.substring(0, back.length() - DELETED_SUFFIX.length());
      }
      JsonNode ro = d.path("ro");
      boolean readOnly = ro.isBoolean() ? ro.asBoolean() : "1".equals(ro.asText());
      result.add(new LoopDevice(
          d.path("name").asText(),
          back == null || back.isEmpty() ? null : Path.of(back),
          readOnly,
          d.path("maj:min").asText().strip(),
          deleted));
    }
    return List.copyOf(result);
  }

  private static String deviceFrom(CommandResult result) {
    String device = result.stdout().strip();
    if (!device.startsWith("/dev/")) {
      throw new IllegalStateException("losetup --show printed no device: '" + device + "' for " + result.command());
    }
    return device;
  }
}
