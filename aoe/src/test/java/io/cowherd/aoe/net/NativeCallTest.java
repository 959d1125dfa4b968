package io.cowherd.aoe.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Native calls that need no privileges: failures carry the call and the captured errno. (The
 * privileged paths are covered by {@code RawSocketHostTest}.)
 */
class NativeCallTest {

    @Test
    void openingAMissingInterfaceNamesIfNameToIndexAndEnodev() {
        assertThatThrownBy(() -> RawSocket.open("cwt-nosuch0"))
                .isInstanceOfSatisfying(SyscallException.class, e -> {
                    assertThat(e.syscall()).isEqualTo("if_nametoindex(\"cwt-nosuch0\")");
                    assertThat(e.errno()).isEqualTo(19);
                    assertThat(e.errnoName()).isEqualTo("ENODEV");
                    assertThat(e.getMessage()).isEqualTo("if_nametoindex(\"cwt-nosuch0\") failed: errno 19 ENODEV (No such device)");
                });
    }

    @Test
    void interfaceNamesAreCheckedBeforeAnyCall() {
        assertThatThrownBy(() -> RawSocket.open("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RawSocket.open("a-name-too-long-16")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void enteringAMissingNamespaceNamesOpenAndEnoent() {
        assertThatThrownBy(() -> NetNs.callIn("cwt-no-such-namespace", () -> "never"))
                .isInstanceOfSatisfying(SyscallException.class, e -> {
                    assertThat(e.syscall()).isEqualTo("open(\"/var/run/netns/cwt-no-such-namespace\")");
                    assertThat(e.errnoName()).isEqualTo("ENOENT");
                });
    }

    @Test
    void namespaceNamesCannotEscapeTheNetnsDirectory() {
        assertThatThrownBy(() -> NetNs.callIn("../../proc/1/ns/net", () -> "never"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NetNs.callIn("", () -> "never")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aVirtualThreadCannotEnterANamespace() throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread.ofVirtual().start(() -> {
            try {
                NetNs.enterOnCurrentThread("cwt-anything");
            } catch (Throwable t) {
                failure.set(t);
            }
        }).join();

        assertThat(failure.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("virtual thread");
    }
}
