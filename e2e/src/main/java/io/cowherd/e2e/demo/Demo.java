package io.cowherd.e2e.demo;

import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.DiscoveredTarget;
import io.cowherd.aoe.initiator.InitiatorOptions;
import io.cowherd.e2e.support.BootImage;
import io.cowherd.e2e.support.Lab;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The README demo: a local control plane, the operator and one node agent on this host, {@code
 * examples/pool.yaml} applied on a fresh origin image, and an AoE initiator in a client namespace
 * proving that every target serves the origin byte for byte.
 */
@Command(name = "cowherd-demo", mixinStandardHelpOptions = true,
    description = "Runs cowherd end to end on this host (needs root).")
public final class Demo implements Callable<Integer> {
  @Option(names = "--repo", description = "Repository root (default: found from the working directory).")
  Path repo;

  @Option(names = "--keep", description = "Keep everything running until Ctrl-C, and print how to reach it.")
  boolean keep;

  @Option(names = "--work-dir", description = "Where logs, kubeconfig and the scratch filesystem go (default: a new /tmp/cowherd-demo-* directory).")
  Path workDir;

  @Option(names = "--origin-mib", description = "Size of the demo origin image in MiB (default: ${DEFAULT-VALUE}).")
  int originMiB = 64;

  @Option(names = "--boot-client", description = "Use the bootable image of hack/make-boot-image.sh as the origin, "
      + "then boot one diskless client VM (QEMU) from its NIC's PXE ROM through the front door (proxy DHCP, "
      + "boot endpoint, automatic enrollment) and show its console marker.")
  boolean bootClient;

  public static void main(String[] args) {
    System.exit(new CommandLine(new Demo()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    if (repo != null) {
      System.setProperty("cowherd.repo", repo.toAbsolutePath().toString());
    }
    if (workDir == null) {
      workDir = Files.createTempDirectory("cowherd-demo-");
    }
    step("starting kube-apiserver + etcd, the operator and a node agent (work dir " + workDir + ")");
    Lab lab = bootClient ? Lab.startWithOrigin(workDir, bootImage()) : Lab.start(workDir, originMiB);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      lab.close();
      System.out.println("cowherd demo: stopped; exporters, scratch filesystem, test network and control plane"
          + " removed (logs kept in " + workDir.resolve("logs") + ")");
      stopped.countDown();
    }, "demo-cleanup"));
    try {
      run(lab);
      if (bootClient) {
        step("booting a diskless client through the front door: PXE ROM -> DHCP -> boot endpoint -> sanboot");
        ClientBootStep.bootThroughFrontDoor(lab, "lab", workDir.resolve("logs"));
      }
    } catch (Exception | AssertionError e) {
      System.err.println("cowherd demo FAILED: " + e.getMessage());
      System.err.println("logs: " + workDir.resolve("logs"));
      return 1;
    }
    if (keep) {
      System.out.printf("%nEverything keeps running. In another shell:%n"
          + "  export KUBECONFIG=%s%n  %s get aoebootpools,aoebootslots -o wide%n"
          + "  %s scale aoebootpool/lab --replicas=5%n"
          + "Logs: %s%nStop with Ctrl-C (or kill %d); that removes the pool's exporters, the scratch filesystem and the test network.%n",
          lab.controlPlane().kubeconfig(), kubectl(), kubectl(), workDir.resolve("logs"), ProcessHandle.current().pid());
      stopped.await();
    }
    return 0;
  }

  private Path bootImage() {
    System.out.println("building (or reusing) the bootable origin image: hack/make-boot-image.sh");
    return BootImage.cached(Lab.findRepo(), originMiB);
  }

  private void run(Lab lab) throws Exception {
    Path example = Lab.findRepo().resolve("examples/pool.yaml");
    String manifest = Files.readString(example)
        .replaceFirst("(?m)^  image: .*$", "  image: " + lab.originImage())
        .replaceFirst("(?m)^  interface: .*$", "  interface: " + lab.network().exporterInterface());
    Path applied = workDir.resolve("pool.yaml");
    Files.writeString(applied, manifest);
    step("applying examples/pool.yaml with image and interface pointed at the demo's origin and veth:");
    manifest.lines().filter(l -> !l.strip().startsWith("#")).forEach(l -> System.out.println("    " + l));
    Instant start = Instant.now();
    System.out.print(lab.controlPlane().kubectlOk("apply", "-f", applied.toString()));
    step("waiting for the pool to be Ready");
    lab.controlPlane().kubectlOk("wait", "aoebootpool/lab", "--for=condition=Ready", "--timeout=120s");
    System.out.printf("pool Ready %.1f s after kubectl apply%n", Duration.between(start, Instant.now()).toMillis() / 1000.0);
    System.out.print(lab.controlPlane().kubectlOk("get", "aoebootpools,aoebootslots", "-o", "wide"));

    step("reading every target from a separate network namespace with cowherd's AoE initiator");
    byte[] origin = Files.readAllBytes(lab.originImage());
    String clientNs = lab.network().addClientNamespace();
    try (AoeInitiator initiator = AoeInitiator.openInNamespace(clientNs, "eth0", InitiatorOptions.defaults())) {
      List<DiscoveredTarget> found = initiator.discover(Duration.ofSeconds(2));
      found.forEach(d -> System.out.println("  discovered " + d));
      for (DiscoveredTarget d : found) {
        AoeTarget target = d.target();
        long sectors = initiator.identify(target).sectorCount();
        long t0 = System.nanoTime();
        byte[] data = initiator.read(target, 0, Math.toIntExact(sectors));
        double seconds = (System.nanoTime() - t0) / 1e9;
        boolean same = Arrays.equals(data, origin);
        System.out.printf("  %s: %d sectors, read in %.2f s (%.1f MB/s), %s%n", target, sectors, seconds,
            data.length / seconds / 1e6, same ? "identical to the origin" : "DIFFERS from the origin");
        if (!same) {
          throw new AssertionError(target + " does not serve the origin byte for byte");
        }
      }
      if (found.size() != 3) {
        throw new AssertionError("expected 3 targets, found " + found.size());
      }
    }
    step("done: 3 targets, each serving the origin byte for byte");
  }

  private static String kubectl() {
    return io.cowherd.e2e.support.ControlPlane.binaryDir().resolve("kubectl").toString();
  }

  private static void step(String text) {
    System.out.println();
    System.out.println("==> " + text);
  }
}
