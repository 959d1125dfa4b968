package io.cowherd.aoe.frame;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Parsing a hand-built IDENTIFY DEVICE block (ATA8-ACS layout, 256 little-endian words). */
class AtaIdentityTest {

    /** Sets word {@code index} (little-endian) of a 512-byte block. */
    private static void word(byte[] block, int index, int value) {
        block[2 * index] = (byte) value;
        block[2 * index + 1] = (byte) (value >>> 8);
    }

    /** Writes an ATA string: two characters per word, the first in the high byte, blank-filled. */
    private static void string(byte[] block, int firstWord, int words, String text) {
        String padded = (text + " ".repeat(2 * words)).substring(0, 2 * words);
        for (int i = 0; i < words; i++) {
            word(block, firstWord + i, (padded.charAt(2 * i) << 8) | padded.charAt(2 * i + 1));
        }
    }

    @Test
    void parsesLba48CapacityAndNames() {
        byte[] block = new byte[512];
        string(block, 10, 10, "41.3:host");                    // words 10-19: serial number
        string(block, 23, 4, "V22");                           // words 23-26: firmware revision
        string(block, 27, 20, "Coraid EtherDrive vblade");     // words 27-46: model number
        word(block, 60, 0xFFFF);                               // words 60-61: LBA28 capacity 0x0FFFFFFF
        word(block, 61, 0x0FFF);
        word(block, 83, 0x5400);                               // word 83: bit 10, 48-bit addresses supported
        word(block, 100, 0x0000);                              // words 100-103: LBA48 capacity 0x0001_2345_0000
        word(block, 101, 0x2345);
        word(block, 102, 0x0001);
        word(block, 103, 0x0000);

        AtaIdentity identity = AtaIdentity.parse(block);

        assertThat(identity).isEqualTo(new AtaIdentity(0x1_2345_0000L, 0x0FFF_FFFFL, true,
                "Coraid EtherDrive vblade", "41.3:host", "V22"));
        assertThat(identity.sizeBytes()).isEqualTo(0x1_2345_0000L * 512);
    }

    @Test
    void fallsBackToLba28CapacityWithoutLba48() {
        byte[] block = new byte[512];
        word(block, 60, 0x4000);                               // words 60-61: LBA28 capacity 16384
        word(block, 61, 0x0000);
        word(block, 83, 0x0000);                               // word 83: no 48-bit addresses
        word(block, 100, 0x1234);                              // words 100-103: ignored

        AtaIdentity identity = AtaIdentity.parse(block);

        assertThat(identity.lba48Supported()).isFalse();
        assertThat(identity.sectorCount()).isEqualTo(16384);
        assertThat(identity.model()).isEmpty();
    }

    @Test
    void rejectsABlockShorterThan512Bytes() {
        assertThatThrownBy(() -> AtaIdentity.parse(new byte[511])).isInstanceOf(IllegalArgumentException.class);
    }
}
