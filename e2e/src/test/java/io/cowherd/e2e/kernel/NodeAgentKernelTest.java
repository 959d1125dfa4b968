package io.cowherd.e2e.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.e2e.kernel.guest.NodeAgentScenario;
import io.cowherd.e2e.support.ControlPlane;
import io.cowherd.e2e.support.Lab;
import io.cowherd.e2e.support.ManagedProcess;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * End to end on a real kernel: a real kube-apiserver and etcd and the operator run on this host;
 * the node agent runs in the QEMU guest ({@link GuestVm}) and reaches the API server through
 * QEMU's guestfwd ({@code kubernetes:<port>} in the guest is the host's {@code 127.0.0.1:<port>};
 * {@code kubernetes} is one of the names in kube-api-test's serving certificate, so TLS is
 * verified as usual). {@link NodeAgentScenario} does the rest inside the guest.
 */
@Tag("kernel")
class NodeAgentKernelTest {
  private static final String NODE = "cowherd-kernel-node";

  @Test
  void agentInTheGuestServesAPoolOnDmSnapshotSurvivesSigkillFailsAnOverflowedSlotAndCleansUpOnScaleToZero()
      throws IOException {
    Path repo = Lab.findRepo();
    Path workDir = repo.resolve("e2e/target/kernel-tests/node-agent").toAbsolutePath();
    Files.createDirectories(workDir);
    try (ControlPlane controlPlane = ControlPlane.start(workDir)) {
      controlPlane.applyCrds(repo.resolve("crds/yaml"));
      controlPlane.createReadyNode(NODE, Map.of("kubernetes.io/hostname", NODE));
      String kubeconfig = Files.readString(controlPlane.kubeconfig());
      int port = apiServerPort(kubeconfig);
      Path guestKubeconfig = workDir.resolve("guest-kubeconfig");
      Files.writeString(guestKubeconfig, kubeconfig.replace("https://127.0.0.1:" + port, "https://kubernetes:" + port));
      try (ManagedProcess operator = ManagedProcess.startJar("operator", repo.resolve("operator/target/cowherd-operator.jar"),
          List.of(), controlPlane.podLikeEnvironment(), workDir.resolve("operator.log"))) {
        GuestVm.Result r = GuestVm.builder()
            .memoryMiB(2048)
            .share(workDir)
            .forward(port)
            .host("kubernetes", GuestVm.FORWARD_ADDRESS)
            .timeout(Duration.ofMinutes(18))
            .build()
            .run(GuestVm.javaMain(NodeAgentScenario.class, guestKubeconfig.toString(), workDir.toString(), NODE, agent(repo)));
        System.out.printf("[measure] kernel scenario node-agent: %.1f s in the guest, boot included%n", r.elapsed().toMillis() / 1e3);
        assertThat(r.exitCode())
            .as("guest scenario failed (agent logs in %s, operator log %s); guest output:%n%s", workDir, operator.log(), r.output())
            .isZero();
        assertThat(r.output()).contains("scenario node-agent: passed");
      }
    }
  }

  /**
   * The node agent the guest runs: its jar, as built by Maven, or a class path given in system
   * property {@code cowherd.kernel.agent} (for runs outside Maven).
   */
  private static String agent(Path repo) {
    return System.getProperty("cowherd.kernel.agent", repo.resolve("node-agent/target/cowherd-node-agent.jar").toString());
  }

  /** The port of the {@code https://127.0.0.1:<port>} server in a kubeconfig. */
  static int apiServerPort(String kubeconfig) {
    Matcher m = Pattern.compile("server:\\s*\"?(https://127\\.0\\.0\\.1:\\d+)").matcher(kubeconfig);
    if (!m.find()) {
      throw new IllegalStateException("kubeconfig has no https://127.0.0.1:<port> server:\n" + kubeconfig);
    }
    return URI.create(m.group(1)).getPort();
  }
}
