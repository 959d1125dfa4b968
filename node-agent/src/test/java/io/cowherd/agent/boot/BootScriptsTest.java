package io.cowherd.agent.boot;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What cowherd's iPXE scripts echo: readable, and never an iPXE setting, comment or command. */
class BootScriptsTest {
  @Test
  void printableKeepsClausesReadableAndDefusesWhatIpxeWouldInterpret() {
    assertThat(BootScripts.printable("enrolled into pool default/lab; waiting for a slot"))
        .isEqualTo("enrolled into pool default/lab, waiting for a slot");
    assertThat(BootScripts.printable("${net0/mac} # | && ' \" \\ é\n")).isEqualTo("?{net0/mac} ? ? ?? ? ? ? ??");
    assertThat(BootScripts.printable("x".repeat(600))).hasSize(512);
  }

  @Test
  void aWaitScriptEchoesTheMessageWithCommasAndRetries() {
    String script = BootScripts.waitAndRetry(io.cowherd.api.MacAddress.parse("52:54:00:c0:de:00").orElseThrow(),
        "pool lab is full; no slot", 2, 0);
    assertThat(script).contains("echo cowherd: 52:54:00:c0:de:00: pool lab is full, no slot\n").doesNotContain("full?");
  }
}
