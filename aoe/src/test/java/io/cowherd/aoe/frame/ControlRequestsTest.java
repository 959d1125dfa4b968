package io.cowherd.aoe.frame;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Control requests as a rogue sends them, and how they are told apart from reads. */
class ControlRequestsTest {
  private static final MacAddress ROGUE = MacAddress.parse("02:cc:00:00:00:09");
  private static final EthernetHeader ETH = new EthernetHeader(MacAddress.BROADCAST, ROGUE);
  private static final AoeTarget TARGET = new AoeTarget(7, 3);

  @Test
  void maskAddIsEncodedAsAoEr11Section5() {
    byte[] frame = FrameEncoder.INSTANCE.encode(ControlRequests.macMaskList(ETH, TARGET, 1,
        List.of(new ControlRequests.Directive(ControlRequests.DIRECTIVE_ADD, ROGUE))));
    assertThat(frame).hasSize(24 + 4 + 8);
    assertThat(frame[19]).isEqualTo((byte) 2); // Command: MAC Mask List
    assertThat(frame[24]).isEqualTo((byte) 0); // Reserved
    assertThat(frame[25]).isEqualTo((byte) 1); // MCmd: edit
    assertThat(frame[26]).isEqualTo((byte) 0); // MError
    assertThat(frame[27]).isEqualTo((byte) 1); // Dir Count
    assertThat(frame[29]).isEqualTo((byte) 1); // DCmd: add
    assertThat(MacAddress.read(frame, 30)).isEqualTo(ROGUE);
  }

  @Test
  void reserveForceSetIsEncodedAsAoEr11Section6() {
    byte[] frame = FrameEncoder.INSTANCE.encode(
        ControlRequests.reserveRelease(ETH, TARGET, 1, ControlRequests.RESERVE_FORCE_SET, List.of(ROGUE)));
    assertThat(frame).hasSize(24 + 2 + 6);
    assertThat(frame[19]).isEqualTo((byte) 3); // Command: Reserve/Release
    assertThat(frame[24]).isEqualTo((byte) 2); // RCmd: force set
    assertThat(frame[25]).isEqualTo((byte) 1); // NMacs
    assertThat(MacAddress.read(frame, 26)).isEqualTo(ROGUE);
  }

  @Test
  void editsReservationsAndConfigSetsChangeStateAfterARoundTrip() throws MalformedFrameException {
    List<AoeMessage> changing = List.of(
        ControlRequests.macMaskList(ETH, TARGET, 1, List.of(
            new ControlRequests.Directive(ControlRequests.DIRECTIVE_ADD, ROGUE),
            new ControlRequests.Directive(ControlRequests.DIRECTIVE_DELETE, ROGUE))),
        ControlRequests.reserveRelease(ETH, TARGET, 2, ControlRequests.RESERVE_SET, List.of(ROGUE)),
        ControlRequests.setConfig(ETH, TARGET, 3, ConfigCommand.SET, "x"),
        ControlRequests.setConfig(ETH, TARGET, 4, ConfigCommand.FORCE_SET, "x"));
    for (AoeMessage m : changing) {
      AoeMessage decoded = FrameDecoder.INSTANCE.decode(FrameEncoder.INSTANCE.encode(m));
      assertThat(ControlRequests.stateChange(decoded)).as(m.toString()).isPresent();
    }
    assertThat(ControlRequests.stateChange(changing.getFirst()).orElseThrow())
        .isEqualTo("MAC Mask List edit (add 02:cc:00:00:00:09, delete 02:cc:00:00:00:09)");
  }

  @Test
  void readsAndResponsesChangeNothing() {
    assertThat(ControlRequests.stateChange(ControlRequests.macMaskList(ETH, TARGET, 1, List.of()))).isEmpty();
    assertThat(ControlRequests.stateChange(ControlRequests.reserveRelease(ETH, TARGET, 1, 0, List.of()))).isEmpty();
    assertThat(ControlRequests.stateChange(QueryConfigMessage.readRequest(ETH, TARGET, 1))).isEmpty();
    UnsupportedCommandMessage edit = ControlRequests.reserveRelease(ETH, TARGET, 1, 1, List.of(ROGUE));
    assertThat(ControlRequests.stateChange(new UnsupportedCommandMessage(ETH, edit.header().reply(TARGET),
        edit.argument()))).isEmpty();
  }

  @Test
  void bpfProgramJumpsStayInsideAndEndInReturns() {
    long[] p = ControlRequests.bpfFilter();
    for (int pc = 0; pc < p.length; pc++) {
      int code = (int) (p[pc] >>> 48);
      if ((code & 0x07) == 0x05) { // BPF_JMP
        assertThat(pc + 1 + (int) ((p[pc] >>> 40) & 0xFF)).isLessThan(p.length);
        assertThat(pc + 1 + (int) ((p[pc] >>> 32) & 0xFF)).isLessThan(p.length);
      }
    }
    assertThat((int) (p[p.length - 1] >>> 48)).isEqualTo(0x06);
    assertThat((int) (p[p.length - 2] >>> 48)).isEqualTo(0x06);
  }
}
