package io.cowherd.aoe.frame;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Decoding hand-built frames; section numbers are those of AoEr11. */
class FrameDecoderTest {

    private static final MacAddress INITIATOR = MacAddress.parse("02:00:00:00:00:01");
    private static final MacAddress TARGET_MAC = MacAddress.parse("02:00:00:00:00:02");

    /** The 32-byte Query Config reply vblade sends for e41.3 with no config string, unpadded. */
    static byte[] vbladeQueryConfigReply() {
        return Bytes.of(
                0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // destination MAC: the initiator (§2.1)
                0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // source MAC: vblade's interface (§2.1)
                0x88, 0xA2,                         // Ethernet type AoE (§2.1)
                0x18,                               // Ver 1 (§2.2), Flags R (§2.3)
                0x00,                               // Error: none (§2.4)
                0x00, 0x29,                         // Major: shelf 41 (§2.5)
                0x03,                               // Minor: slot 3 (§2.5)
                0x01,                               // Command: Query Config (§2.6)
                0x12, 0x34, 0x56, 0x78,             // Tag (§2.7)
                0x00, 0x10,                         // Buffer Count: 16 (§4.1)
                0x40, 0x16,                         // Firmware Version: 0x4016 (§4.2)
                0x02,                               // Sector Count: 2 sectors per command (§4.3)
                0x10,                               // AoE Ver 1 (§4.4), CCmd 0 read (§4.5)
                0x00, 0x00);                        // Config String Length: 0 bytes (§4.6)
    }

    /** A 36-byte READ SECTORS EXT request for 2 sectors at LBA 0x060504030201 of e41.3. */
    static byte[] ataReadRequest() {
        return Bytes.of(
                0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // destination MAC: the target (§2.1)
                0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source MAC: the initiator (§2.1)
                0x88, 0xA2,                         // Ethernet type AoE (§2.1)
                0x10,                               // Ver 1 (§2.2), no flags (§2.3)
                0x00,                               // Error: none (§2.4)
                0x00, 0x29,                         // Major: shelf 41 (§2.5)
                0x03,                               // Minor: slot 3 (§2.5)
                0x00,                               // Command: ATA (§2.6)
                0x00, 0x00, 0x01, 0x07,             // Tag 0x107 (§2.7)
                0x40,                               // AFlags: E, LBA48 (§3.1)
                0x00,                               // Err/Feature: 0 (§3.2)
                0x02,                               // Sector Count: 2 (§3.3)
                0x24,                               // Cmd/Status: READ SECTORS EXT (§3.4)
                0x01, 0x02, 0x03, 0x04, 0x05, 0x06, // lba0..lba5, least significant first (§3.5)
                0x00, 0x00);                        // reserved (§3)
    }

    /** The ATA header of a successful reply to {@link #ataReadRequest()}, data to follow. */
    static byte[] ataReadReplyHeader() {
        return Bytes.of(
                0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // destination MAC: the initiator (§2.1)
                0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // source MAC: the target (§2.1)
                0x88, 0xA2,                         // Ethernet type AoE (§2.1)
                0x18,                               // Ver 1 (§2.2), Flags R (§2.3)
                0x00,                               // Error: none (§2.4)
                0x00, 0x29,                         // Major: shelf 41 (§2.5)
                0x03,                               // Minor: slot 3 (§2.5)
                0x00,                               // Command: ATA (§2.6)
                0x00, 0x00, 0x01, 0x07,             // Tag 0x107, echoed (§2.7)
                0x40,                               // AFlags: E (§3.1)
                0x00,                               // Err/Feature: error register 0 (§3.2)
                0x00,                               // Sector Count: 0 left to transfer (§3.3)
                0x40,                               // Cmd/Status: DRDY (§3.4)
                0x03, 0x02, 0x03, 0x04, 0x05, 0x06, // lba0..lba5 advanced by 2 (§3.5)
                0x00, 0x00);                        // reserved (§3)
    }

    @Test
    void decodesTheShort32ByteVbladeQueryConfigReply() throws MalformedFrameException {
        byte[] frame = vbladeQueryConfigReply();

        AoeMessage message = FrameDecoder.INSTANCE.decode(frame);

        assertThat(frame).hasSize(32);
        assertThat(message).isEqualTo(new QueryConfigMessage(
                new EthernetHeader(INITIATOR, TARGET_MAC),
                new AoeHeader(1, true, false, AoeError.NONE, new AoeTarget(41, 3), AoeCommand.QUERY_CONFIG, 0x12345678),
                16, 0x4016, 2, 1, ConfigCommand.READ, ""));
    }

    @Test
    void decodesAConfigStringAndIgnoresPaddingAfterIt() throws MalformedFrameException {
        byte[] frame = vbladeQueryConfigReply();
        frame[31] = 0x05; // Config String Length: 5 bytes (§4.6)
        byte[] padded = Bytes.concat(frame,
                Bytes.of('h', 'e', 'l', 'l', 'o'),             // Config String (§4.7)
                new byte[60 - 37]);                            // Ethernet padding to 60 bytes

        QueryConfigMessage message = (QueryConfigMessage) FrameDecoder.INSTANCE.decode(padded);

        assertThat(message.configString()).isEqualTo("hello");
        assertThat(message.configStringLengthBytes()).isEqualTo(5);
    }

    @Test
    void decodesAnAtaRequestWithItsLba48LeastSignificantByteFirst() throws MalformedFrameException {
        AtaMessage message = (AtaMessage) FrameDecoder.INSTANCE.decode(ataReadRequest());

        assertThat(message.header()).isEqualTo(AoeHeader.request(new AoeTarget(41, 3), AoeCommand.ATA, 0x107));
        assertThat(message.ethernet()).isEqualTo(new EthernetHeader(TARGET_MAC, INITIATOR));
        assertThat(message.flags()).isEqualTo(AtaFlags.EXTENDED);
        assertThat(message.sectorCount()).isEqualTo(2);
        assertThat(message.ataCommand()).isEqualTo(AtaCommand.READ_SECTORS_EXT);
        assertThat(message.lba()).isEqualTo(0x060504030201L);
        assertThat(message.data()).isEmpty();
    }

    @Test
    void decodesAnAtaReplyWithTwoSectorsOfData() throws MalformedFrameException {
        byte[] data = Bytes.counting(1024, 7);                 // Data: 2 sectors (§3.6)
        byte[] frame = Bytes.concat(ataReadReplyHeader(), data);

        AtaMessage message = (AtaMessage) FrameDecoder.INSTANCE.decode(frame);

        assertThat(message.isResponse()).isTrue();
        assertThat(message.cmdStatus()).isEqualTo(AoeConstants.ATA_STATUS_DRDY);
        assertThat(message.hasAtaError()).isFalse();
        assertThat(message.lba()).isEqualTo(0x060504030203L);
        assertThat(message.data()).isEqualTo(data);
    }

    @Test
    void decodesAWriteRequestWhoseDataMatchesItsSectorCount() throws MalformedFrameException {
        byte[] header = ataReadRequest();
        header[24] = 0x41;                                     // AFlags: E and W (§3.1)
        header[26] = 0x01;                                     // Sector Count: 1 (§3.3)
        header[27] = 0x34;                                     // Cmd/Status: WRITE SECTORS EXT (§3.4)
        byte[] data = Bytes.counting(512, 0);                  // Data: 1 sector (§3.6)

        AtaMessage message = (AtaMessage) FrameDecoder.INSTANCE.decode(Bytes.concat(header, data));

        assertThat(message.flags()).isEqualTo(AtaFlags.EXTENDED_WRITE);
        assertThat(message.ataCommand()).isEqualTo(AtaCommand.WRITE_SECTORS_EXT);
        assertThat(message.data()).isEqualTo(data);
    }

    @Test
    void takesTheTailOfA60ByteAtaReplyAsPadding() throws MalformedFrameException {
        byte[] frame = Bytes.concat(ataReadReplyHeader(), new byte[24]); // padded to 60 bytes, as vblade sends errors

        AtaMessage message = (AtaMessage) FrameDecoder.INSTANCE.decode(frame);

        assertThat(message.data()).isEmpty();
    }

    @Test
    void decodesTheErrorFlagAndErrorCode() throws MalformedFrameException {
        byte[] frame = Bytes.concat(ataReadReplyHeader(), new byte[24]);
        frame[14] = 0x1C;                                      // Ver 1 (§2.2), Flags R and E (§2.3)
        frame[15] = 0x02;                                      // Error: bad argument (§2.4)

        AtaMessage message = (AtaMessage) FrameDecoder.INSTANCE.decode(frame);

        assertThat(message.header().errorFlag()).isTrue();
        assertThat(message.header().error()).isEqualTo(AoeError.BAD_ARGUMENT);
    }

    @Test
    void keepsAnUnknownCommandWithItsArgument() throws MalformedFrameException {
        byte[] frame = vbladeQueryConfigReply();
        frame[19] = 0x42;                                      // Command: 66, not defined (§2.6)

        UnsupportedCommandMessage message = (UnsupportedCommandMessage) FrameDecoder.INSTANCE.decode(frame);

        assertThat(message.header().command()).isEqualTo(AoeCommand.valueOf(66));
        assertThat(message.header().command().toString()).isEqualTo("UNKNOWN(66)");
        assertThat(message.argument()).isEqualTo(Arrays.copyOfRange(frame, 24, 32));
    }

    @Test
    void decodesAFrameInTheMiddleOfALargerBuffer() throws MalformedFrameException {
        byte[] buffer = Bytes.concat(new byte[5], vbladeQueryConfigReply(), new byte[9]);

        AoeMessage message = FrameDecoder.INSTANCE.decode(buffer, 5, 32);

        assertThat(message).isEqualTo(FrameDecoder.INSTANCE.decode(vbladeQueryConfigReply()));
    }

    // ---- one negative test per malformation

    @Test
    void decodeRejectsAFrameShorterThanTheAoeHeader() {
        byte[] frame = Arrays.copyOf(vbladeQueryConfigReply(), 23);

        assertMalformed(frame, 23, "shorter than the 24-byte");
    }

    @Test
    void decodeRejectsAnEmptyFrame() {
        assertMalformed(new byte[0], 0, "shorter than the 24-byte");
    }

    @Test
    void decodeRejectsAnotherEthernetType() {
        byte[] frame = vbladeQueryConfigReply();
        frame[12] = 0x08;                                      // Ethernet type 0x0800, IPv4 (§2.1)
        frame[13] = 0x00;

        assertMalformed(frame, 12, "0x0800 is not AoE");
    }

    @Test
    void decodeRejectsAnotherVersion() {
        byte[] frame = vbladeQueryConfigReply();
        frame[14] = 0x28;                                      // Ver 2 (§2.2), Flags R (§2.3)

        assertMalformed(frame, 14, "AoE version 2");
    }

    @Test
    void decodeRejectsAnAtaMessageShorterThanItsHeader() {
        byte[] frame = Arrays.copyOf(ataReadRequest(), 30);

        assertMalformed(frame, 30, "shorter than its 36-byte header");
    }

    @Test
    void decodeRejectsAWriteWhoseDataDoesNotMatchItsSectorCount() {
        byte[] header = ataReadRequest();
        header[24] = 0x41;                                     // AFlags: E and W (§3.1)
        header[26] = 0x02;                                     // Sector Count: 2 (§3.3)
        header[27] = 0x34;                                     // Cmd/Status: WRITE SECTORS EXT (§3.4)
        byte[] frame = Bytes.concat(header, new byte[512]);    // Data: only 1 sector (§3.6)

        assertMalformed(frame, 36, "write request of 2 sectors carries 512 bytes");
    }

    @Test
    void decodeRejectsAtaDataThatIsNotWholeSectors() {
        byte[] frame = Bytes.concat(ataReadReplyHeader(), new byte[600]); // Data: 600 bytes (§3.6)

        assertMalformed(frame, 36, "not a whole number of 512-byte sectors");
    }

    @Test
    void decodeRejectsAQueryConfigShorterThanItsHeader() {
        byte[] frame = Arrays.copyOf(vbladeQueryConfigReply(), 28);

        assertMalformed(frame, 28, "shorter than its 32-byte header");
    }

    @Test
    void decodeRejectsAConfigStringLengthBeyondTheFrame() {
        byte[] frame = Bytes.concat(vbladeQueryConfigReply(), Bytes.of('a', 'b', 'c', 'd'));
        frame[31] = 0x0A;                                      // Config String Length: 10, only 4 follow (§4.6)

        assertMalformed(frame, 30, "runs past the end of the 36-byte frame");
    }

    @Test
    void decodeRejectsAConfigStringLongerThan1024Bytes() {
        byte[] frame = Bytes.concat(vbladeQueryConfigReply(), new byte[1025]);
        frame[30] = 0x04;                                      // Config String Length: 1025 (§4.6)
        frame[31] = 0x01;

        assertMalformed(frame, 30, "exceeds 1024");
    }

    private static void assertMalformed(byte[] frame, int offset, String reason) {
        assertThatThrownBy(() -> FrameDecoder.INSTANCE.decode(frame))
                .isInstanceOfSatisfying(MalformedFrameException.class, e -> {
                    assertThat(e.offset()).isEqualTo(offset);
                    assertThat(e.reason()).contains(reason);
                    assertThat(e.getMessage()).startsWith("malformed AoE frame at byte " + offset + ": ");
                });
    }
}
