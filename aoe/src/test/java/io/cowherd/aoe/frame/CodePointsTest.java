package io.cowherd.aoe.frame;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Code points keep values they do not know. */
class CodePointsTest {

    @Test
    void aoeCommandKeepsUnknownValues() {
        assertThat(AoeCommand.valueOf(0)).isSameAs(AoeCommand.ATA);
        assertThat(AoeCommand.valueOf(1)).hasToString("QUERY_CONFIG");
        assertThat(AoeCommand.valueOf(17)).hasToString("UNKNOWN(17)").isEqualTo(new AoeCommand(17));
        assertThat(AoeCommand.valueOf(17).isKnown()).isFalse();
        assertThatThrownBy(() -> AoeCommand.valueOf(256)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aoeErrorKeepsUnknownValues() {
        assertThat(AoeError.valueOf(2)).isSameAs(AoeError.BAD_ARGUMENT);
        assertThat(AoeError.valueOf(6)).hasToString("TARGET_RESERVED");
        assertThat(AoeError.valueOf(99)).hasToString("UNKNOWN(99)");
    }

    @Test
    void configCommandKeepsUnknownValues() {
        assertThat(ConfigCommand.valueOf(4)).isSameAs(ConfigCommand.FORCE_SET);
        assertThat(ConfigCommand.valueOf(15)).hasToString("UNKNOWN(15)");
        assertThatThrownBy(() -> ConfigCommand.valueOf(16)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void ataCommandKeepsUnknownOpcodes() {
        assertThat(AtaCommand.valueOf(0xEC)).isSameAs(AtaCommand.IDENTIFY_DEVICE);
        assertThat(AtaCommand.valueOf(0xE7)).hasToString("FLUSH_CACHE");
        assertThat(AtaCommand.valueOf(0x99)).hasToString("UNKNOWN(0x99)");
        assertThat(AtaCommand.valueOf(0x99).isKnown()).isFalse();
    }

    @Test
    void ataFlagsMapToTheirBits() {
        assertThat(AtaFlags.fromByte(0x41)).isEqualTo(AtaFlags.EXTENDED_WRITE).hasToString("EW");
        assertThat(AtaFlags.fromByte(0xFF).toByte()).isEqualTo(0x53); // reserved bits dropped
        assertThat(AtaFlags.NONE).hasToString("-");
    }
}
