package io.cowherd.aoe.frame;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** {@link AoeTarget} and {@link MacAddress}. */
class AddressesTest {

    @Test
    void targetPrintsInProtocolNotation() {
        assertThat(new AoeTarget(7, 3)).hasToString("e7.3");
        assertThat(AoeTarget.BROADCAST).hasToString("e65535.255");
    }

    @Test
    void targetParsesItsNotation() {
        assertThat(AoeTarget.parse("e7.3")).isEqualTo(new AoeTarget(7, 3));
        assertThatThrownBy(() -> AoeTarget.parse("7.3")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> AoeTarget.parse("e70000.3")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void targetRejectsShelvesAndSlotsOutsideTheWireFields() {
        assertThatThrownBy(() -> new AoeTarget(65536, 0)).hasMessageContaining("shelf must be 0-65535");
        assertThatThrownBy(() -> new AoeTarget(-1, 0)).hasMessageContaining("shelf must be 0-65535");
        assertThatThrownBy(() -> new AoeTarget(0, 256)).hasMessageContaining("slot must be 0-255");
        assertThatThrownBy(() -> new AoeTarget(0, -1)).hasMessageContaining("slot must be 0-255");
        assertThat(new AoeTarget(65535, 255).isBroadcast()).isTrue();
    }

    @Test
    void broadcastAddressesReachTheirTargets() {
        AoeTarget e7x3 = new AoeTarget(7, 3);

        assertThat(e7x3.isAddressedBy(AoeTarget.BROADCAST)).isTrue();
        assertThat(e7x3.isAddressedBy(new AoeTarget(7, 255))).isTrue();
        assertThat(e7x3.isAddressedBy(new AoeTarget(65535, 3))).isTrue();
        assertThat(e7x3.isAddressedBy(new AoeTarget(7, 4))).isFalse();
        assertThat(e7x3.isAddressedBy(e7x3)).isTrue();
    }

    @Test
    void macAddressParsesAndPrintsColonHex() {
        MacAddress mac = MacAddress.parse("02:FC:00:00:0a:01");

        assertThat(mac.value()).isEqualTo(0x02FC_0000_0A01L);
        assertThat(mac).hasToString("02:fc:00:00:0a:01");
        assertThat(mac.toBytes()).isEqualTo(Bytes.of(0x02, 0xFC, 0x00, 0x00, 0x0A, 0x01));
        assertThat(MacAddress.BROADCAST.isBroadcast()).isTrue();
    }

    @Test
    void macAddressRejectsWhatIsNotSixBytes() {
        assertThatThrownBy(() -> MacAddress.parse("02:fc:00:00:0a")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MacAddress.parse("zz:fc:00:00:0a:01")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new MacAddress(1L << 48)).isInstanceOf(IllegalArgumentException.class);
    }
}
