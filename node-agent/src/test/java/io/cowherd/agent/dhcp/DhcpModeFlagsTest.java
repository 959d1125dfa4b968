package io.cowherd.agent.dhcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.agent.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The agent refuses to start, naming the reason, when proxy DHCP cannot work; nothing else starts (exit 2). */
class DhcpModeFlagsTest {
  @TempDir Path tmp;

  private int run(StringWriter err, String... dhcpArgs) throws Exception {
    Files.createDirectories(tmp.resolve("images"));
    String[] base = {"--node-name", "n1", "--state-dir", tmp.resolve("state").toString(), "--image-root",
        tmp.resolve("images").toString(), "--lease-namespace", "default"};
    String[] args = new String[base.length + dhcpArgs.length];
    System.arraycopy(base, 0, args, 0, base.length);
    System.arraycopy(dhcpArgs, 0, args, base.length, dhcpArgs.length);
    return new CommandLine(new Main()).setErr(new PrintWriter(err, true)).execute(args);
  }

  @Test
  void aMissingInterfaceIsRefusedBeforeAnythingStarts() throws Exception {
    StringWriter err = new StringWriter();
    assertThat(run(err, "--boot-port", "8067", "--dhcp-mode", "proxy", "--dhcp-interface", "cwnone0")).isEqualTo(2);
    assertThat(err.toString()).contains("proxy DHCP interface cwnone0 does not exist on this node");
  }

  @Test
  void proxyModeWithoutTheBootEndpointOrAnUnknownModeIsRefused() throws Exception {
    StringWriter err = new StringWriter();
    assertThat(run(err, "--dhcp-mode", "proxy", "--dhcp-interface", "lo")).isEqualTo(2);
    assertThat(err.toString()).contains("proxy DHCP needs the boot endpoint: set --boot-port");
    StringWriter err2 = new StringWriter();
    assertThat(run(err2, "--dhcp-mode", "off")).isEqualTo(2);
    assertThat(err2.toString()).contains("--dhcp-mode must be none or proxy, got 'off'");
  }
}
