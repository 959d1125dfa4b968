package io.cowherd.aoe.frame;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Encoding to hand-built frames and round trips; section numbers are those of AoEr11. */
class FrameEncoderTest {

    private static final MacAddress INITIATOR = MacAddress.parse("02:00:00:00:00:01");
    private static final MacAddress TARGET_MAC = MacAddress.parse("02:00:00:00:00:02");
    private static final AoeTarget E41_3 = new AoeTarget(41, 3);
    private static final EthernetHeader TO_TARGET = new EthernetHeader(TARGET_MAC, INITIATOR);
    private static final EthernetHeader TO_INITIATOR = TO_TARGET.reply();

    @Test
    void encodesADiscoveryBroadcastAs32Bytes() {
        QueryConfigMessage request = QueryConfigMessage.readRequest(
                new EthernetHeader(MacAddress.BROADCAST, INITIATOR), AoeTarget.BROADCAST, 0xCAFE);

        byte[] frame = FrameEncoder.INSTANCE.encode(request);

        assertThat(frame).isEqualTo(Bytes.of(
                0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // destination MAC: broadcast (§2.1)
                0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source MAC: the initiator (§2.1)
                0x88, 0xA2,                         // Ethernet type AoE (§2.1)
                0x10,                               // Ver 1 (§2.2), no flags (§2.3)
                0x00,                               // Error: none (§2.4)
                0xFF, 0xFF,                         // Major: every shelf (§2.5)
                0xFF,                               // Minor: every slot (§2.5)
                0x01,                               // Command: Query Config (§2.6)
                0x00, 0x00, 0xCA, 0xFE,             // Tag (§2.7)
                0x00, 0x00,                         // Buffer Count: 0 in a request (§4.1)
                0x00, 0x00,                         // Firmware Version: 0 in a request (§4.2)
                0x00,                               // Sector Count: 0 in a request (§4.3)
                0x10,                               // AoE Ver 1 (§4.4), CCmd 0 read (§4.5)
                0x00, 0x00));                       // Config String Length: 0 (§4.6)
    }

    @Test
    void encodesAnAtaReadRequestLikeTheHandBuiltOne() {
        AtaMessage request = AtaMessage.request(TO_TARGET, E41_3, 0x107, AtaFlags.EXTENDED,
                AtaCommand.READ_SECTORS_EXT, 0x060504030201L, 2, null);

        assertThat(FrameEncoder.INSTANCE.encode(request)).isEqualTo(FrameDecoderTest.ataReadRequest());
    }

    @Test
    void encodesTheVbladeQueryConfigReplyByteForByte() throws MalformedFrameException {
        byte[] handBuilt = FrameDecoderTest.vbladeQueryConfigReply();

        assertThat(FrameEncoder.INSTANCE.encode(FrameDecoder.INSTANCE.decode(handBuilt))).isEqualTo(handBuilt);
    }

    @Test
    void encodingIntoAReusedBufferOverwritesEveryByteOfTheFrame() {
        byte[] buffer = new byte[100];
        Arrays.fill(buffer, (byte) 0xEE);
        AtaMessage request = AtaMessage.request(TO_TARGET, E41_3, 0x107, AtaFlags.EXTENDED,
                AtaCommand.READ_SECTORS_EXT, 0x060504030201L, 2, null);

        int lengthBytes = FrameEncoder.INSTANCE.encode(request, buffer, 10);

        assertThat(lengthBytes).isEqualTo(36);
        assertThat(Arrays.copyOfRange(buffer, 10, 46)).isEqualTo(FrameDecoderTest.ataReadRequest());
        assertThat(buffer[9]).isEqualTo((byte) 0xEE);
        assertThat(buffer[46]).isEqualTo((byte) 0xEE);
    }

    @Test
    void encodeRejectsADestinationTooSmall() {
        AtaMessage request = AtaMessage.request(TO_TARGET, E41_3, 1, AtaFlags.EXTENDED_WRITE,
                AtaCommand.WRITE_SECTORS_EXT, 0, 1, new byte[512]);

        assertThatThrownBy(() -> FrameEncoder.INSTANCE.encode(request, new byte[547], 0))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }

    static Stream<AoeMessage> everyMessageType() {
        AoeHeader ataRequest = AoeHeader.request(E41_3, AoeCommand.ATA, 0x01020304);
        AoeHeader configRequest = AoeHeader.request(AoeTarget.BROADCAST, AoeCommand.QUERY_CONFIG, -1);
        return Stream.of(
                AtaMessage.request(TO_TARGET, E41_3, 7, AtaFlags.EXTENDED, AtaCommand.READ_SECTORS_EXT,
                        AoeConstants.MAX_LBA48, 255, null),
                AtaMessage.request(TO_TARGET, E41_3, 8, AtaFlags.EXTENDED_WRITE, AtaCommand.WRITE_SECTORS_EXT,
                        12345, 3, Bytes.counting(3 * 512, 1)),
                AtaMessage.request(TO_TARGET, E41_3, 9, AtaFlags.NONE, AtaCommand.IDENTIFY_DEVICE, 0, 1, null),
                new AtaMessage(TO_TARGET, ataRequest, new AtaFlags(false, true, true, false), 0x5A, 1, 0x20, 99,
                        new byte[0]),
                new AtaMessage(TO_INITIATOR, ataRequest.reply(E41_3), AtaFlags.EXTENDED, 0, 0,
                        AoeConstants.ATA_STATUS_DRDY, 14, Bytes.counting(1024, 3)),
                new AtaMessage(TO_INITIATOR, ataRequest.reply(E41_3), AtaFlags.EXTENDED, AoeConstants.ATA_ERROR_IDNF,
                        2, AoeConstants.ATA_STATUS_DRDY | AoeConstants.ATA_STATUS_ERR, 14, new byte[0]),
                new AtaMessage(TO_INITIATOR, ataRequest.errorReply(E41_3, AoeError.valueOf(200)), AtaFlags.NONE, 0,
                        0, 0, 0, new byte[0]),
                QueryConfigMessage.readRequest(new EthernetHeader(MacAddress.BROADCAST, INITIATOR),
                        AoeTarget.BROADCAST, 42),
                new QueryConfigMessage(TO_INITIATOR, configRequest.reply(E41_3), 16, 0x4016, 2, 1,
                        ConfigCommand.READ, "pool=lab slot=3 \u00e9"),
                new QueryConfigMessage(TO_TARGET, configRequest, 0, 0, 0, 1, ConfigCommand.valueOf(9),
                        "x".repeat(1024)),
                new UnsupportedCommandMessage(TO_TARGET, AoeHeader.request(E41_3, AoeCommand.MAC_MASK_LIST, 5),
                        Bytes.of(0, 1, 0, 1, 0, 1, 2, 3, 4, 5, 6, 7)),
                new UnsupportedCommandMessage(TO_INITIATOR,
                        AoeHeader.request(E41_3, AoeCommand.RESERVE_RELEASE, 6).reply(E41_3), Bytes.of(0, 0)),
                new UnsupportedCommandMessage(TO_TARGET, new AoeHeader(1, false, false, AoeError.NONE, E41_3,
                        AoeCommand.valueOf(0xF0), 7), new byte[0]));
    }

    @ParameterizedTest
    @MethodSource("everyMessageType")
    void encodeThenDecodeGivesTheMessageBack(AoeMessage message) throws MalformedFrameException {
        byte[] frame = FrameEncoder.INSTANCE.encode(message);

        assertThat(frame).hasSize(FrameEncoder.INSTANCE.lengthBytes(message));
        assertThat(FrameDecoder.INSTANCE.decode(frame)).isEqualTo(message);
    }

    @Test
    void messagesPrintInProtocolNotation() {
        AtaMessage request = AtaMessage.request(TO_TARGET, E41_3, 0x107, AtaFlags.EXTENDED,
                AtaCommand.READ_SECTORS_EXT, 2048, 2, null);

        assertThat(request.toString()).isEqualTo("02:00:00:00:00:01 > 02:00:00:00:00:02 v1 e41.3 ATA tag=0x00000107"
                + " aflags=E cmd=READ_SECTORS_EXT lba=2048 sectorCount=2");
        assertThat(QueryConfigMessage.readRequest(TO_TARGET, E41_3, 1).header().errorReply(E41_3,
                AoeError.CONFIG_STRING_PRESENT).toString())
                .isEqualTo("v1 RE e41.3 QUERY_CONFIG tag=0x00000001 error=CONFIG_STRING_PRESENT");
    }

    @Test
    void ataMessageRejectsFieldsThatDoNotFitTheWire() {
        assertThatThrownBy(() -> AtaMessage.request(TO_TARGET, E41_3, 1, AtaFlags.EXTENDED,
                AtaCommand.READ_SECTORS_EXT, 0, 256, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sector count");
        assertThatThrownBy(() -> AtaMessage.request(TO_TARGET, E41_3, 1, AtaFlags.EXTENDED,
                AtaCommand.READ_SECTORS_EXT, AoeConstants.MAX_LBA48 + 1, 1, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lba");
        assertThatThrownBy(() -> AtaMessage.request(TO_TARGET, E41_3, 1, AtaFlags.EXTENDED_WRITE,
                AtaCommand.WRITE_SECTORS_EXT, 0, 2, new byte[512]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 1024 bytes");
    }

    @Test
    void queryConfigRejectsAConfigStringLongerThan1024Bytes() {
        assertThatThrownBy(() -> new QueryConfigMessage(TO_TARGET,
                AoeHeader.request(E41_3, AoeCommand.QUERY_CONFIG, 1), 0, 0, 0, 1, ConfigCommand.SET, "x".repeat(1025)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("config string length");
    }
}
