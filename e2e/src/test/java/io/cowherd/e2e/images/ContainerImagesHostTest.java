package io.cowherd.e2e.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.model.Ulimit;
import io.cowherd.e2e.support.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.containers.startupcheck.StartupCheckStrategy;
import org.testcontainers.utility.DockerImageName;

/**
 * Smoke tests of the images {@code hack/build-images.sh} builds, run as containers through
 * Testcontainers and Debian podman's Docker-compatible API ({@link PodmanService}): the agent image
 * has every host program the agent runs, both images run Java 25, the operator runs as 65532 and
 * the agent as root, and both entrypoints start with their AOT cache accepted. Builds the images
 * first when they are older than their inputs ({@link BuiltImages}).
 *
 * <p>Containers get network mode {@code none} (podman's default bridge would change the host's
 * interfaces, iptables and ip_forward) and explicit ulimits (this machine kind lacks
 * CAP_SYS_RESOURCE; podman's raised defaults make runc fail).
 */
@Tag("host")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContainerImagesHostTest {
  private static final Duration START_LIMIT = Duration.ofSeconds(60);
  private PodmanService podman;

  @BeforeAll
  void buildImagesAndStartPodman() throws IOException {
    if (!Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"))) {
      fail("@Tag(\"host\") tests need root (uid 0): podman and buildah use the system image store");
    }
    BuiltImages.ensureBuilt();
    Path target = Path.of("target").toAbsolutePath();
    String dockerHost = System.getenv("DOCKER_HOST");
    assertThat(dockerHost).as("DOCKER_HOST (set by e2e/pom.xml's surefire configuration)").startsWith("unix://");
    podman = PodmanService.start(Path.of(dockerHost.substring("unix://".length())), target.resolve("podman/service.log"));
  }

  @AfterAll
  void stop() {
    if (podman != null) {
      podman.close();
    }
  }

  @ParameterizedTest(name = "agent image runs {0}")
  @CsvSource(delimiter = '|', value = {
    // program | argv that prints its identity | expected output
    "vblade   | vblade                | usage: vblade",
    "nft      | nft --version         | nftables v",
    "losetup  | losetup --version     | losetup from util-linux",
    "setpriv  | setpriv --version     | setpriv from util-linux",
    "fallocate| fallocate --version   | fallocate from util-linux",
    "nsenter  | nsenter --version     | nsenter from util-linux",
    "dmsetup  | dmsetup help          | dmsetup",
    "filefrag | filefrag -V           | filefrag",
    "cp       | cp --version          | GNU coreutils",
    "ip       | ip -V                 | iproute2",
    "modprobe | modprobe --version    | kmod version",
    "dnsmasq  | dnsmasq --version     | Dnsmasq version",
    "ipxe     | ls -L /usr/lib/ipxe/undionly.kpxe /usr/lib/ipxe/ipxe.efi | /usr/lib/ipxe/ipxe.efi",
  })
  void agentImageHasEveryHostProgramTheAgentRuns(String program, String argv, String expected) throws Exception {
    // vblade without arguments prints its usage and exits 1; the others exit 0.
    Run r = run(BuiltImages.AGENT, argv.split(" "));

    assertThat(r.output()).as("%s in the agent image", program).contains(expected);
    if (!program.equals("vblade")) {
      assertThat(r.exitCode()).as("exit code of %s", argv).isZero();
    }
  }

  @ParameterizedTest(name = "{0} image runs Java 25 from its jlink'ed runtime")
  @CsvSource({BuiltImages.OPERATOR, BuiltImages.AGENT})
  void imageRunsJava25(String image) {
    Run r = run(image, "java", "-version");

    assertThat(r.exitCode()).isZero();
    assertThat(r.output()).contains("version \"25");
  }

  @Test
  void operatorImageRunsAsNonRootUser65532() {
    assertThat(run(BuiltImages.OPERATOR, "id", "-u").output().trim()).isEqualTo("65532");
    assertThat(run(BuiltImages.OPERATOR, "id", "-g").output().trim()).isEqualTo("65532");
    assertThat(configuredUser(BuiltImages.OPERATOR)).isEqualTo("65532:65532");
  }

  @Test
  void agentImageRunsAsRoot() {
    assertThat(run(BuiltImages.AGENT, "id", "-u").output().trim()).isEqualTo("0");
    assertThat(configuredUser(BuiltImages.AGENT)).isEqualTo("0:0");
  }

  @ParameterizedTest(name = "{0} entrypoint starts with its AOT cache")
  @CsvSource({"cowherd-operator, Usage: cowherd-operator", "cowherd-node-agent, Usage: cowherd-node-agent"})
  void entrypointStartsWithItsAotCache(String image, String usage) {
    // The image's own entrypoint; --help makes the program print its usage and exit 0. -Xlog:aot
    // shows whether the JVM mapped the cache the build's training run made (it silently runs
    // without one when the JVM, options or class path differ).
    try (GenericContainer<?> c = container(image)
        .withEnv("JAVA_TOOL_OPTIONS", "-Xlog:aot=info")
        .withCommand("--help")
        .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(START_LIMIT))) {
      c.start();
      String logs = c.getLogs();

      assertThat(logs).contains(usage);
      assertThat(logs).contains("Opened AOT cache /opt/cowherd/app.aot");
      assertThat(logs).doesNotContainIgnoringCase("unable to use AOT cache");
    }
  }

  private static String configuredUser(String image) {
    return Commands.run("podman", "image", "inspect", "--format", "{{.Config.User}}", BuiltImages.reference(image)).trim();
  }

  /** Exit code and combined stdout and stderr of a program run as a container's entrypoint. */
  private record Run(long exitCode, String output) {}

  /**
   * Runs {@code argv} as the entrypoint of a new container of {@code image} (its configured user)
   * and waits for it to exit. One container per program, not exec: exec through podman 4.3's
   * compat API leaves two conmon processes behind per call (podman issues #15377, #20415).
   */
  private static Run run(String image, String... argv) {
    try (GenericContainer<?> c = container(image)
        .withCreateContainerCmdModifier(cmd -> cmd.withEntrypoint(argv))
        .withStartupCheckStrategy(new ExitedStartupCheck().withTimeout(START_LIMIT))) {
      c.start();
      return new Run(c.getCurrentContainerInfo().getState().getExitCodeLong(), c.getLogs());
    }
  }

  /** Start-up succeeded once the container has exited, whatever its exit code (the test checks it). */
  private static final class ExitedStartupCheck extends StartupCheckStrategy {
    @Override
    public StartupStatus checkStartupState(DockerClient client, String containerId) {
      return Boolean.TRUE.equals(getCurrentState(client, containerId).getRunning())
          ? StartupStatus.NOT_YET_KNOWN : StartupStatus.SUCCESSFUL;
    }
  }

  private static GenericContainer<?> container(String image) {
    return new GenericContainer<>(DockerImageName.parse(BuiltImages.reference(image)))
        .withNetworkMode("none")
        .withCreateContainerCmdModifier(ContainerImagesHostTest::limits)
        // podman 4.3's compat inspect of a container whose process has just exited can fail with
        // 500 "read /proc/<pid>/cgroup: no such process" (CI, `nft --version`): a new container, up to 3.
        .withStartupAttempts(3)
        .withStartupTimeout(START_LIMIT);
  }

  private static CreateContainerCmd limits(CreateContainerCmd cmd) {
    cmd.getHostConfig().withUlimits(List.of(new Ulimit("nofile", 4096L, 4096L), new Ulimit("nproc", 4096L, 4096L)));
    return cmd;
  }
}
