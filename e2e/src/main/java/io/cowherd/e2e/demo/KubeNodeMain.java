package io.cowherd.e2e.demo;

import io.cowherd.e2e.support.ControlPlane;
import io.cowherd.e2e.support.Exporters;
import io.cowherd.e2e.support.KubeNode;
import io.cowherd.e2e.support.NetworkLab;
import io.cowherd.e2e.support.ScratchFilesystem;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hack/kube-node.sh}: starts the throwaway single-node cluster of the end-to-end tests
 * ({@link KubeNode}) for a person to use by hand, optionally with a boot network (a veth in the
 * node's network namespace, a pool's {@code spec.interface}) and a loop-mounted XFS filesystem
 * under {@link KubeNode#hostMounts()} holding an image root and a state dir (so a {@code reflink}
 * pool works). Prints what {@code helm install} of docs/install.md needs, then waits for SIGINT,
 * SIGTERM or end of standard input and tears everything down in the order {@code HelmNodeE2E}
 * does: the cluster ({@link KubeNode#close()}, which also kills exporters in the node namespace),
 * new exporter cgroups, the XFS filesystem, the boot network. Anything left is printed ({@link
 * KubeNode#leftovers()}).
 */
@Command(name = "kube-node", mixinStandardHelpOptions = true,
    description = "Starts a throwaway single-node Kubernetes 1.34 cluster on this host (needs root) and keeps it"
        + " until Ctrl-C, SIGTERM or end of standard input; then removes everything it made.")
public final class KubeNodeMain implements Callable<Integer> {
  @Option(names = "--work-dir", description = "Where the cluster's state, logs, kubeconfig and the XFS file go"
      + " (default: a new /var/tmp/cowherd-kube-node-* directory).")
  Path workDir;

  @Option(names = "--xfs-gib", description = "Size in GiB of the sparse XFS (reflink) file holding the image root and"
      + " the state dir; 0: none (default: ${DEFAULT-VALUE}).")
  int xfsGiB = 4;

  @Option(names = "--boot-network", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Attach a boot network: a veth in the node's network namespace (a pool's spec.interface) whose"
          + " peer is a port of a bridge in a namespace of its own (default: on).")
  boolean bootNetwork;

  @Option(names = "--import", paramLabel = "TAR", description = "docker-archive or OCI tar to import into the node's"
      + " containerd before printing (repeatable), e.g. the tars of hack/build-images.sh.")
  List<Path> imports = new ArrayList<>();

  private KubeNode node;
  private ScratchFilesystem scratch;
  private NetworkLab network;
  private final List<Path> exporterCgroupsBefore = Exporters.cgroups();

  public static void main(String[] args) {
    System.exit(new CommandLine(new KubeNodeMain()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    if (workDir == null) {
      workDir = Files.createTempDirectory(Path.of("/var/tmp"), "cowherd-kube-node-");
    }
    // Teardown runs exactly once, in the shutdown hook: on SIGINT/SIGTERM, and on System.exit after
    // end of input or a failed start.
    Runtime.getRuntime().addShutdownHook(new Thread(this::tearDown, "kube-node-teardown"));
    System.out.println("kube-node: starting etcd, kube-apiserver, controller-manager, scheduler, containerd and kubelet"
        + " (work dir " + workDir + ")");
    try {
      node = KubeNode.start(workDir);
      for (Path tar : imports) {
        System.out.println("kube-node: importing " + tar);
        node.importImage(tar);
      }
      if (xfsGiB > 0) {
        scratch = ScratchFilesystem.createXfs(node.hostMounts().resolve("xfs"), (long) xfsGiB << 30);
      }
      String bootInterface = null;
      if (bootNetwork) {
        network = NetworkLab.create();
        bootInterface = node.attachBootNetwork(network, "cwnb" + node.nodeName().substring(node.nodeName().length() - 6));
      }
      printHowTo(bootInterface);
    } catch (RuntimeException e) {
      System.err.println("kube-node FAILED: " + e.getMessage());
      System.err.println("daemon logs: " + workDir);
      return 1;
    }
    try (InputStream in = System.in) {
      while (in.read() >= 0) {
        // what is typed is ignored; end of input stops the cluster
      }
    } catch (IOException ignored) {
      // a broken stdin counts as end of input
    }
    System.out.println("kube-node: end of standard input, stopping");
    return 0;
  }

  private void printHowTo(String bootInterface) {
    Path bin = ControlPlane.binaryDir();
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT, "%nkube-node: cluster up in %.1f s, node %s (network namespace %s)%n%n",
        node.startDuration().toMillis() / 1000.0, node.nodeName(), node.netns()));
    out.append("In another shell (as root):\n");
    out.append("  export KUBECONFIG=").append(node.kubeconfig()).append('\n');
    out.append("  export PATH=").append(bin).append(":$PATH        # kubectl and helm 3 (pinned)\n");
    if (imports.isEmpty()) {
      out.append("  hack/build-images.sh --load --containerd-address ").append(node.containerdSocket()).append('\n');
    }
    out.append("  helm install cowherd helm/cowherd -n cowherd-system --create-namespace --wait \\\n");
    out.append("    --set image.pullPolicy=Never");
    if (scratch != null) {
      out.append(" \\\n    --set agent.stateDir=").append(scratch.stateDir())
          .append(" \\\n    --set 'agent.imageRoots[0]=").append(scratch.images()).append('\'');
    }
    out.append("\n\n");
    out.append("  kubectl         ").append(bin.resolve("kubectl")).append('\n');
    out.append("  helm            ").append(bin.resolve("helm")).append('\n');
    out.append("  containerd      ").append(node.containerdSocket())
        .append("   (ctr --address <it> -n k8s.io images ls)\n");
    if (scratch != null) {
      out.append("  image root      ").append(scratch.images()).append("   (XFS, reflink; put origin images here)\n");
      out.append("  state dir       ").append(scratch.stateDir()).append('\n');
    }
    if (bootInterface != null) {
      out.append("  interface       ").append(bootInterface).append("   (a pool's spec.interface; bridge namespace ")
          .append(network.bridgeNamespace()).append(")\n");
    }
    out.append("  daemon logs     ").append(node.workDir()).append("/<daemon>.log\n");
    out.append("  node shell      nsenter -t ").append(node.kubelet().pid())
        .append(" -m -n bash   (pod logs: /var/log/pods there; kubectl logs/exec do not work on this cluster)\n");
    out.append("\nNo kube-proxy and no DNS: only the `kubernetes` Service works. The chart's defaults fit that.\n");
    out.append("Stop with Ctrl-C, `kill ").append(ProcessHandle.current().pid())
        .append("` or end of input: everything above is removed.\n");
    System.out.print(out);
    System.out.flush();
  }

  /** Runs once, from the shutdown hook; prints what is left. */
  private void tearDown() {
    long t0 = System.nanoTime();
    System.out.println("kube-node: tearing down");
    List<String> problems = new ArrayList<>();
    if (node != null) {
      try {
        node.close();
      } catch (RuntimeException e) {
        problems.add(e.getMessage());
      }
      problems.addAll(node.leftovers());
    }
    problems.addAll(Exporters.removeCgroupsExcept(exporterCgroupsBefore));
    if (scratch != null) {
      try {
        scratch.close();
      } catch (RuntimeException e) {
        problems.add(e.getMessage());
      }
    }
    if (network != null) {
      network.close();
    }
    System.out.printf(Locale.ROOT, "kube-node: teardown took %.1f s%n", (System.nanoTime() - t0) / 1e9);
    if (problems.isEmpty()) {
      System.out.println("kube-node: nothing left behind (logs and kubeconfig stay in " + workDir + ")");
    } else {
      System.out.println("kube-node: LEFT BEHIND:");
      problems.forEach(p -> System.out.println("  " + p));
    }
    System.out.flush();
  }
}
