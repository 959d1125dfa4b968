package io.cowherd.agent.support;

import io.cowherd.agent.host.Vblade;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One node of the agent's reflink host tests: a loop-mounted XFS (reflink=1) with {@code images/}
 * (the only image root, holding the origin {@code images/debian.img}) and {@code state/} (the state
 * dir), a veth pair for the exporters, an API client that reaches nothing (status and Events are
 * not written through it), and the agent wired as Main wires it ({@link TestAgent}). {@link #close}
 * stops the agent, kills the vblades under the test's directory, deletes the veth pair (and its
 * guard tables) and unmounts the filesystem.
 *
 * <p>Needs root and vblade; fails loudly without them ({@link HostTools#requireRoot}).
 */
public final class ReflinkHostLab implements AutoCloseable {
  /** Writes the origin file the lab's pools serve (its size is the disk size, in bytes). */
  @FunctionalInterface
  public interface OriginWriter {
    void write(Path origin) throws IOException;
  }

  private final Path tmp;
  public final LoopMountedFs fs;
  public final String iface;
  public final Path images;
  public final Path origin;
  public final Path stateDir;
  public final KubernetesClient client;
  public final TestAgent agent;
  /** Events the agent recorded, as {@code "<type> <reason>"}. */
  public final List<String> events = new CopyOnWriteArrayList<>();
  /** The same Events with their messages: {@code "<type> <reason>: <message>"}. */
  public final List<String> eventMessages = new CopyOnWriteArrayList<>();

  private ReflinkHostLab(Path tmp, OriginWriter writer) throws IOException {
    this.tmp = tmp;
    HostTools.requireRoot();
    Vblade vblade = HostTools.requireVblade();
    fs = LoopMountedFs.xfs(tmp, 1);
    iface = HostTools.createVethPair();
    images = Files.createDirectories(fs.mountPoint().resolve("images"));
    origin = images.resolve("debian.img");
    writer.write(origin);
    stateDir = Files.createDirectories(fs.mountPoint().resolve("state"));
    client = new KubernetesClientBuilder().withConfig(new ConfigBuilder(Config.empty())
        .withMasterUrl("https://127.0.0.1:1").withRequestRetryBackoffLimit(0).withConnectionTimeout(500).build()).build();
    agent = new TestAgent("node-a", stateDir, List.of(images), vblade, client, (slot, type, reason, message) -> {
      events.add(type + " " + reason);
      eventMessages.add(type + " " + reason + ": " + message);
    });
  }

  /**
   * Sets the lab up under {@code tmp} (a JUnit temporary directory).
   *
   * @param writer writes {@code images/debian.img}
   * @throws IOException when the filesystem, the origin or the directories cannot be made
   */
  public static ReflinkHostLab start(Path tmp, OriginWriter writer) throws IOException {
    return new ReflinkHostLab(tmp, writer);
  }

  /** A sparse origin of {@code bytes} bytes, starting with {@code marker} (may be empty). */
  public static OriginWriter sparseOrigin(long bytes, byte[] marker) {
    return origin -> {
      try (var f = new java.io.RandomAccessFile(origin.toFile(), "rw")) {
        f.setLength(bytes);
        f.write(marker);
      }
    };
  }

  /**
   * One reconcile of {@code slot} by this lab's agent, as the framework would apply it: a status
   * patch the reconciler asks for is copied into {@code slot}.
   *
   * @return the slot's status after it
   */
  public AoeBootSlotStatus reconcile(AoeBootSlot slot) {
    UpdateControl<AoeBootSlot> control = agent.reconciler.reconcile(slot, null);
    if (control.isPatchStatus()) {
      slot.setStatus(control.getResource().orElseThrow().getStatus());
    }
    return slot.getStatus();
  }

  @Override
  public void close() throws IOException {
    try {
      agent.close();
      HostTools.killVbladesMentioning(tmp.toString());
      HostTools.deleteVethPair(iface);
      client.close();
    } finally {
      fs.close();
    }
  }

  /** Writes {@code bytes} into {@code file} at byte {@code offset} and fsyncs it. */
  public static void writeAt(Path file, long offset, byte[] bytes) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(offset);
      f.write(bytes);
      f.getFD().sync();
    }
  }

  /** {@code bytes} bytes of {@code file} from byte {@code offset}. */
  public static byte[] read(Path file, long offset, int bytes) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      byte[] b = new byte[bytes];
      f.seek(offset);
      f.readFully(b);
      return b;
    }
  }
}
