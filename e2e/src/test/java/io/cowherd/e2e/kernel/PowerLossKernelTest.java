package io.cowherd.e2e.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.DiscoveredTarget;
import io.cowherd.aoe.initiator.InitiatorOptions;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootPoolSpec;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.CowSpec;
import io.cowherd.api.v1alpha1.ExportSpec;
import io.cowherd.api.v1alpha1.SlotPhase;
import io.cowherd.e2e.kernel.guest.PowerLossNode;
import io.cowherd.e2e.support.Commands;
import io.cowherd.e2e.support.ControlPlane;
import io.cowherd.e2e.support.Lab;
import io.cowherd.e2e.support.ManagedProcess;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A node's power cut loses no acknowledged write, and the write cache is what can lose them.
 *
 * <p>The QEMU guest is the node (Debian's kernel, dm-snapshot, the node agent; the API server and
 * the operator run on this host, reached through the harness's --forward). Its disk is a file of
 * this test ({@code --disk}): the origin and the agent's state dir live there. The client is on
 * this host, outside the node: cowherd's AoE initiator in a network namespace this test makes,
 * on a tap that is the guest's NIC {@code aoe0} (harness {@code --tap}); the namespace holds only
 * that tap and has no route anywhere, so its record of acknowledgements survives the node.
 *
 * <p>Two pools on the node: {@code durable} (e7.0, default: vblade {@code -s}) and {@code cached}
 * (e8.0, {@code spec.export.writeCache: true}). Boot 1: write throughput of each is measured
 * (same run, same path); then the client writes numbered blocks to both in turn, noting each
 * acknowledged block, and the test SIGKILLs QEMU while it writes (a power cut: the guest's page
 * cache is gone). Boot 2 from the same disk: the agent finds the COW files, attaches new loops and
 * re-creates the snapshots ({@code P} store, exceptions kept); the time from QEMU's start to both
 * targets answering is printed; then every acknowledged block of {@code durable} must read back,
 * and {@code cached} must have lost some (the kill comes seconds after its writes, well inside the
 * guest's writeback delay, {@code dirty_expire_centisecs} = 30 s).
 */
@Tag("kernel")
class PowerLossKernelTest {
  private static final String NODE = "cowherd-powerloss-node";
  private static final String NS = "default";
  private static final AoeTarget DURABLE = new AoeTarget(7, 0);
  private static final AoeTarget CACHED = new AoeTarget(8, 0);
  /** One client write: 16 sectors (8 KiB), one AoE frame at MTU 9000. */
  private static final int BLOCK_SECTORS = 16;
  private static final int BLOCK_BYTES = BLOCK_SECTORS * 512;
  private static final int BLOCKS = PowerLossNode.ORIGIN_BYTES / BLOCK_BYTES;
  /** Blocks per pool written for the throughput measurement (2 MiB). */
  private static final int MEASURED_BLOCKS = 256;
  /** How long the client writes before the power is cut. */
  private static final Duration WRITING_BEFORE_CUT = Duration.ofSeconds(8);
  /** Under TCG with O_SYNC a write can take a while: no retransmission storm, and give up 8 s after the cut. */
  private static final InitiatorOptions OPTIONS = InitiatorOptions.defaults().withFrameTimeout(Duration.ofSeconds(2))
      .withMaxRetries(3).withMaxFramesInFlight(16);
  private static final Duration SLOW = Duration.ofMinutes(5);

  @Test
  void everyAcknowledgedWriteSurvivesAPowerCutOfTheNodeAndTheWriteCacheLosesSome() throws Exception {
    Path repo = Lab.findRepo();
    Path workDir = repo.resolve("e2e/target/kernel-tests/power-loss").toAbsolutePath();
    Files.createDirectories(workDir);
    Files.deleteIfExists(workDir.resolve("stop"));
    Path disk = workDir.resolve("node-disk.img");
    Files.deleteIfExists(disk);
    try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
      f.setLength(256L << 20);
    }
    String netns = "cwpl" + HexFormat.of().formatHex(SecureRandom.getSeed(3));
    String tap = "cwpl0";
    Commands.run("ip", "netns", "add", netns);
    try (ControlPlane controlPlane = ControlPlane.start(workDir)) {
      Commands.run("ip", "-n", netns, "tuntap", "add", "dev", tap, "mode", "tap");
      Commands.run("ip", "-n", netns, "link", "set", tap, "mtu", "9000", "up");
      controlPlane.applyCrds(repo.resolve("crds/yaml"));
      controlPlane.createReadyNode(NODE, Map.of("kubernetes.io/hostname", NODE));
      String kubeconfig = Files.readString(controlPlane.kubeconfig());
      int port = NodeAgentKernelTest.apiServerPort(kubeconfig);
      Path guestKubeconfig = workDir.resolve("guest-kubeconfig");
      Files.writeString(guestKubeconfig, kubeconfig.replace("https://127.0.0.1:" + port, "https://kubernetes:" + port));
      KubernetesClient client = controlPlane.client();
      client.resource(pool("durable", DURABLE.shelf(), false)).create();
      client.resource(pool("cached", CACHED.shelf(), true)).create();
      try (ManagedProcess operator = ManagedProcess.startJar("operator", repo.resolve("operator/target/cowherd-operator.jar"),
          List.of(), controlPlane.podLikeEnvironment(), workDir.resolve("operator.log"))) {
        GuestVm node = GuestVm.builder()
            .memoryMiB(2048)
            .share(workDir)
            .forward(port)
            .host("kubernetes", GuestVm.FORWARD_ADDRESS)
            .disk(disk)
            .tap(netns, tap)
            .timeout(Duration.ofMinutes(8))
            .build();
        String agent = System.getProperty("cowherd.kernel.agent", repo.resolve("node-agent/target/cowherd-node-agent.jar").toString());

        // Boot 1: serve, measure, write, cut the power while writing.
        GuestVm.Running first = node.start(GuestVm.javaMain(PowerLossNode.class, "first", workDir.toString(), NODE, agent,
            guestKubeconfig.toString()));
        Ledger durable = new Ledger(DURABLE, 1);
        Ledger cached = new Ledger(CACHED, 2);
        try (AoeInitiator client1 = AoeInitiator.openInNamespace(netns, tap, OPTIONS)) {
          double serving = awaitTargets(client1, first);
          System.out.printf(Locale.ROOT, "[measure] power-loss boot 1: QEMU start -> e7.0 and e8.0 answer: %.1f s%n", serving);
          await().atMost(SLOW).untilAsserted(() -> assertThat(phases(client)).containsOnly(SlotPhase.Serving));
          first.awaitLine(PowerLossNode.EXPORTERS_UP, SLOW);
          assertThat(first.output()).as("exporter argv in the guest")
              .contains("[node] exporter: vblade -s -- 7 0 aoe0 /dev/mapper/cowherd-default-durable-0")
              .contains("[node] exporter: vblade -- 8 0 aoe0 /dev/mapper/cowherd-default-cached-0");

          double durableMBs = durable.writeMeasured(client1, MEASURED_BLOCKS);
          double cachedMBs = cached.writeMeasured(client1, MEASURED_BLOCKS);
          System.out.printf(Locale.ROOT, "[measure] dm-snapshot in the VM (TCG), client on the host over a tap, %d x %d KiB"
              + " writes: durable (vblade -s) %.2f MB/s, write cache %.2f MB/s%n", MEASURED_BLOCKS, BLOCK_BYTES >> 10,
              durableMBs, cachedMBs);

          CompletableFuture<Void> cut = CompletableFuture.runAsync(first::killQemu,
              CompletableFuture.delayedExecutor(WRITING_BEFORE_CUT.toMillis(), TimeUnit.MILLISECONDS));
          long cutDeadline = System.nanoTime() + WRITING_BEFORE_CUT.plusSeconds(60).toNanos();
          IOException stoppedBy = null;
          while (stoppedBy == null && System.nanoTime() < cutDeadline) {
            try {
              durable.writeNext(client1);
              cached.writeNext(client1);
            } catch (IOException e) {
              stoppedBy = e;
            }
          }
          cut.get(60, TimeUnit.SECONDS);
          assertThat(stoppedBy).as("the client was still writing when the power was cut").isNotNull();
          System.out.printf("power cut while writing (client saw: %s); acknowledged blocks: e7.0 (durable) %d, e8.0 (write"
              + " cache) %d%n", stoppedBy.getMessage(), durable.acked, cached.acked);
        }
        GuestVm.Result r1 = first.await();
        assertThat(r1.exitCode()).as("boot 1 ends by the power cut (SIGKILL)").isEqualTo(137);

        // Boot 2: the same disk; the agent rebuilds both slots; every acknowledged durable block is there.
        GuestVm.Running second = node.start(GuestVm.javaMain(PowerLossNode.class, "again", workDir.toString(), NODE, agent,
            guestKubeconfig.toString()));
        try (AoeInitiator client2 = AoeInitiator.openInNamespace(netns, tap, OPTIONS)) {
          double bootToServing = awaitTargets(client2, second);
          System.out.printf(Locale.ROOT, "[measure] node boot (QEMU start) -> both slots serving again after the power cut:"
              + " %.1f s (TCG)%n", bootToServing);
          second.awaitLine(PowerLossNode.EXPORTERS_UP, SLOW);
          String out = second.output();
          assertThat(out).as("a reboot leaves the COW files and no loop or dm device")
              .contains("default/durable/slot-0.cow", "default/cached/slot-0.cow", "loop devices [], dm devices []");
          assertThat(out).as("snapshots re-created on the existing COW stores, persistent")
              .containsPattern("dm table: cowherd-default-durable-0: 0 \\d+ snapshot \\S+ \\S+ PO 64")
              .containsPattern("dm table: cowherd-default-cached-0: 0 \\d+ snapshot \\S+ \\S+ PO 64");

          int durableLost = durable.lostAfterReboot(client2);
          int cachedLost = cached.lostAfterReboot(client2);
          System.out.printf("after the power cut: e7.0 (durable) lost %d of %d acknowledged blocks; e8.0 (write cache) lost"
              + " %d of %d%n", durableLost, durable.acked, cachedLost, cached.acked);
          assertThat(cached.detectsAnUnwrittenBlock(client2)).as("the check flags a block that was never written").isTrue();
          assertThat(durableLost).as("acknowledged durable blocks lost").isZero();
          assertThat(cachedLost).as("write cache: acknowledged blocks lost to the power cut (loss window ~30 s)").isPositive();
          await().atMost(SLOW).untilAsserted(() -> assertThat(phases(client)).containsOnly(SlotPhase.Serving));
        }
        Files.writeString(workDir.resolve("stop"), "stop\n");
        GuestVm.Result r2 = second.await();
        assertThat(r2.exitCode()).as("boot 2 ends on request; guest output:%n%s", r2.output()).isZero();
        System.out.printf(Locale.ROOT, "[measure] kernel scenario power-loss: %.1f s in two guest boots%n",
            (r1.elapsed().toMillis() + r2.elapsed().toMillis()) / 1e3);
      }
    } finally {
      Commands.exec(Commands.DEFAULT_TIMEOUT, List.of("ip", "netns", "delete", netns));
    }
  }

  /** Seconds from the harness start until both targets answer a broadcast Query Config on the tap. */
  private static double awaitTargets(AoeInitiator initiator, GuestVm.Running guest) {
    await().atMost(SLOW).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      List<AoeTarget> seen = initiator.discover(Duration.ofMillis(300)).stream().map(DiscoveredTarget::target).toList();
      assertThat(seen).as("targets answering on the tap; guest output so far:%n%s", guest.output()).contains(DURABLE, CACHED);
    });
    return (System.nanoTime() - guest.startedNanos()) / 1e9;
  }

  private static List<SlotPhase> phases(KubernetesClient client) {
    return client.resources(AoeBootSlot.class).inNamespace(NS).list().getItems().stream()
        .map(s -> s.getStatus() == null ? null : s.getStatus().getPhase()).toList();
  }

  private static AoeBootPool pool(String name, int shelf, boolean writeCache) {
    AoeBootPool pool = new AoeBootPool();
    pool.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    AoeBootPoolSpec spec = new AoeBootPoolSpec();
    spec.setImage(PowerLossNode.ORIGIN.toString());
    spec.setReplicas(1);
    spec.setInterface(PowerLossNode.NIC);
    spec.setShelf(shelf);
    spec.setCow(new CowSpec(CowBackend.DM_SNAPSHOT, 64));
    spec.setExport(new ExportSpec(writeCache));
    pool.setSpec(spec);
    return pool;
  }

  /**
   * The client's record for one target: blocks 0, 1, 2, … are written in order, one write each,
   * and {@code acked} counts those whose write returned (the target's acknowledgement).
   */
  private static final class Ledger {
    final AoeTarget target;
    final int tag;
    int acked;

    Ledger(AoeTarget target, int tag) {
      this.target = target;
      this.tag = tag;
    }

    /** Block {@code n}'s content: tag and block number, then seeded pseudo-random bytes. */
    byte[] block(int n) {
      byte[] data = new byte[BLOCK_BYTES];
      new Random(tag * 1_000_003L + n).nextBytes(data);
      ByteBuffer.wrap(data).putLong(0, 0x434f5748_00000000L | tag).putLong(8, n);
      return data;
    }

    void writeNext(AoeInitiator initiator) throws IOException {
      if (acked == BLOCKS) {
        throw new IllegalStateException(target + ": every block written before the power cut");
      }
      initiator.write(target, (long) acked * BLOCK_SECTORS, block(acked));
      acked++;
    }

    /** Writes {@code count} blocks and returns MB/s (10^6 bytes per second) from first send to last acknowledgement. */
    double writeMeasured(AoeInitiator initiator, int count) throws IOException {
      initiator.discover(target);
      long started = System.nanoTime();
      for (int i = 0; i < count; i++) {
        writeNext(initiator);
      }
      return (double) count * BLOCK_BYTES / ((System.nanoTime() - started) / 1e9) / 1e6;
    }

    /** Acknowledged blocks that do not read back as written. */
    int lostAfterReboot(AoeInitiator initiator) throws IOException {
      initiator.discover(target);
      byte[] all = initiator.read(target, 0, acked * BLOCK_SECTORS);
      int lost = 0;
      for (int n = 0; n < acked; n++) {
        if (!Arrays.equals(all, n * BLOCK_BYTES, (n + 1) * BLOCK_BYTES, block(n), 0, BLOCK_BYTES)) {
          lost++;
        }
      }
      return lost;
    }

    /** Whether the last block of the target, never written, fails the same comparison. */
    boolean detectsAnUnwrittenBlock(AoeInitiator initiator) throws IOException {
      byte[] last = initiator.read(target, (long) (BLOCKS - 1) * BLOCK_SECTORS, BLOCK_SECTORS);
      return !Arrays.equals(last, block(BLOCKS - 1));
    }
  }
}
