package io.cowherd.aoe.frame;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * How the I/O watch tells ATA reads and writes apart on the wire: {@link AtaRequests#classify} on
 * frames the project's encoder makes, and the BPF program run by a small classic BPF interpreter
 * (the opcodes of linux/bpf_common.h the program uses) on the same frames.
 */
class AtaRequestsTest {
  private static final MacAddress CLIENT = MacAddress.parse("52:54:00:12:34:56");
  private static final EthernetHeader ETH = new EthernetHeader(MacAddress.parse("02:00:00:00:00:01"), CLIENT);
  private static final AoeTarget TARGET = new AoeTarget(300, 7);

  private static byte[] request(AtaFlags flags, AtaCommand command, long lba, int sectors, byte[] data) {
    return FrameEncoder.INSTANCE.encode(AtaMessage.request(ETH, TARGET, 9, flags, command, lba, sectors, data));
  }

  @Test
  void aReadIsItsSectorsTargetAndSender() {
    byte[] frame = request(AtaFlags.NONE, AtaCommand.READ_SECTORS, 2048, 2, null);
    long c = AtaRequests.classify(frame, frame.length);
    assertThat(c).isNotNegative();
    assertThat(AtaRequests.isWrite(c)).isFalse();
    assertThat(AtaRequests.sectors(c)).isEqualTo(2);
    assertThat(AtaRequests.bytes(c)).isEqualTo(1024);
    assertThat(AtaRequests.shelf(c)).isEqualTo(300);
    assertThat(AtaRequests.slot(c)).isEqualTo(7);
    assertThat(AtaRequests.source(frame)).isEqualTo(CLIENT.value());
  }

  @Test
  void anExtendedLbaWriteIsAWriteOfItsSectors() {
    byte[] data = new byte[17 * 512];
    byte[] frame = request(AtaFlags.EXTENDED_WRITE, AtaCommand.WRITE_SECTORS_EXT, (1L << 40) + 5, 17, data);
    long c = AtaRequests.classify(frame, frame.length);
    assertThat(AtaRequests.isWrite(c)).isTrue();
    assertThat(AtaRequests.bytes(c)).isEqualTo(17 * 512);
    // what the socket hands over: the first SNAP_BYTES bytes are enough
    assertThat(AtaRequests.classify(Arrays.copyOf(frame, AtaRequests.SNAP_BYTES), AtaRequests.SNAP_BYTES)).isEqualTo(c);
  }

  @Test
  void aWriteWhoseFrameLacksTheAnnouncedDataIsNotIo() {
    byte[] data = new byte[2 * 512];
    byte[] frame = request(AtaFlags.EXTENDED_WRITE, AtaCommand.WRITE_SECTORS_EXT, 5, 2, data);
    byte[] snap = Arrays.copyOf(frame, AtaRequests.SNAP_BYTES);
    assertThat(AtaRequests.classify(snap, snap.length, frame.length)).as("the whole frame on the wire").isNotNegative();
    assertThat(AtaRequests.classify(snap, snap.length, frame.length - 1)).as("one byte short").isEqualTo(-1);
    assertThat(AtaRequests.classify(snap, snap.length, AoeConstants.OFFSET_ATA_DATA)).as("no data").isEqualTo(-1);
    byte[] read = request(AtaFlags.NONE, AtaCommand.READ_SECTORS, 5, 2, null);
    assertThat(AtaRequests.classify(read, read.length, read.length)).as("a read carries no data").isNotNegative();
  }

  @Test
  void anExtendedLbaReadIsARead() {
    byte[] frame = request(AtaFlags.EXTENDED, AtaCommand.READ_SECTORS_EXT, 1L << 33, 255, null);
    long c = AtaRequests.classify(frame, frame.length);
    assertThat(AtaRequests.isWrite(c)).isFalse();
    assertThat(AtaRequests.bytes(c)).isEqualTo(255 * 512);
  }

  @Test
  void nonIoAtaCommandsAndOtherAoeCommandsAreNotIo() {
    byte[] identify = request(AtaFlags.NONE, AtaCommand.IDENTIFY_DEVICE, 0, 1, null);
    byte[] flush = request(AtaFlags.NONE, AtaCommand.FLUSH_CACHE, 0, 0, null);
    byte[] query = FrameEncoder.INSTANCE.encode(new QueryConfigMessage(ETH,
        AoeHeader.request(TARGET, AoeCommand.QUERY_CONFIG, 1), 0, 0, 0, AoeConstants.AOE_VERSION, ConfigCommand.READ, ""));
    for (byte[] f : new byte[][] {identify, flush, query}) {
      assertThat(AtaRequests.classify(f, f.length)).isEqualTo(-1);
      assertThat(runBpf(AtaRequests.bpfFilter(), f)).isZero();
    }
  }

  @Test
  void responsesAreIgnored() {
    byte[] read = request(AtaFlags.NONE, AtaCommand.READ_SECTORS, 0, 2, null);
    read[AoeConstants.OFFSET_VERSION_FLAGS] |= AoeConstants.FLAG_RESPONSE;
    assertThat(AtaRequests.classify(read, read.length)).isEqualTo(-1);
    assertThat(runBpf(AtaRequests.bpfFilter(), read)).isZero();
  }

  @Test
  void truncatedFramesAreRejected() {
    byte[] frame = request(AtaFlags.NONE, AtaCommand.READ_SECTORS, 0, 2, null);
    assertThat(AtaRequests.classify(frame, AtaRequests.MIN_BYTES - 1)).isEqualTo(-1);
    assertThat(AtaRequests.classify(Arrays.copyOf(frame, 20), 20)).isEqualTo(-1);
    assertThat(AtaRequests.classify(frame, AtaRequests.MIN_BYTES)).isNotNegative();
  }

  @Test
  void anotherEtherTypeIsNotAoe() {
    byte[] frame = request(AtaFlags.NONE, AtaCommand.READ_SECTORS, 0, 2, null);
    frame[AoeConstants.OFFSET_ETHERTYPE] = 0x08;
    frame[AoeConstants.OFFSET_ETHERTYPE + 1] = 0x00;
    assertThat(AtaRequests.classify(frame, frame.length)).isEqualTo(-1);
    assertThat(runBpf(AtaRequests.bpfFilter(), frame)).isZero();
  }

  @Test
  void theBpfProgramPassesTheHeadersOfEveryReadAndWriteOpcode() {
    for (int op : new int[] {0x20, 0x24, 0xC8, 0x25, 0x30, 0x34, 0xCA, 0x35}) {
      boolean write = op == 0x30 || op == 0x34 || op == 0xCA || op == 0x35;
      byte[] frame = request(write ? AtaFlags.EXTENDED_WRITE : AtaFlags.NONE, new AtaCommand(op), 0, 1,
          write ? new byte[512] : null);
      assertThat(runBpf(AtaRequests.bpfFilter(), frame)).as("opcode 0x%02x", op)
          .isEqualTo(Math.min(AtaRequests.SNAP_BYTES, frame.length));
      assertThat(AtaRequests.isWrite(AtaRequests.classify(frame, frame.length))).as("opcode 0x%02x", op).isEqualTo(write);
    }
  }

  /** Classic BPF as the kernel runs it, for the instructions {@link Bpf} names; returns the accepted length. */
  static int runBpf(long[] program, byte[] frame) {
    long a = 0;
    int pc = 0;
    while (true) {
      long insn = program[pc];
      int code = (int) (insn >>> 48);
      int jt = (int) ((insn >>> 40) & 0xFF);
      int jf = (int) ((insn >>> 32) & 0xFF);
      long k = insn & 0xFFFFFFFFL;
      switch (code) {
        case Bpf.LD_ABS_BYTE -> {
          if (k >= frame.length) {
            return 0;
          }
          a = frame[(int) k] & 0xFF;
          pc++;
        }
        case Bpf.LD_ABS_HALF -> {
          if (k + 1 >= frame.length) {
            return 0;
          }
          a = ((frame[(int) k] & 0xFF) << 8) | (frame[(int) k + 1] & 0xFF);
          pc++;
        }
        case Bpf.AND_K -> {
          a &= k;
          pc++;
        }
        case Bpf.JEQ_K -> pc += 1 + (a == k ? jt : jf);
        case Bpf.JSET_K -> pc += 1 + ((a & k) != 0 ? jt : jf);
        case Bpf.RET_K -> {
          return (int) Math.min(k, frame.length);
        }
        default -> throw new AssertionError("opcode 0x" + Integer.toHexString(code) + " at " + pc);
      }
    }
  }
}
