package io.cowherd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.e2e.support.ControlPlane;
import io.cowherd.e2e.support.Listeners;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The control plane of the demo and the end-to-end tests (kube-apiserver and etcd, started by
 * {@link ControlPlane}) listens on loopback only: every listening TCP socket of this JVM's child
 * processes, read from /proc, is on 127.0.0.0/8 or ::1.
 */
class ControlPlaneLoopbackE2E {
  @Test
  void kubeApiServerAndEtcdListenOnLoopbackOnly() {
    try (ControlPlane controlPlane = ControlPlane.start(Path.of("target", "e2e-loopback"))) {
      List<Listeners.Listener> listeners = Listeners.ofDescendants();
      System.out.println("[listeners] " + listeners);

      assertThat(listeners).as("the control plane listens somewhere")
          .anyMatch(l -> l.command().endsWith("kube-apiserver"))
          .anyMatch(l -> l.command().endsWith("etcd"));
      assertThat(listeners).allSatisfy(l -> assertThat(l.loopback()).as("%s listens on loopback only", l).isTrue());
      assertThat(controlPlane.client().getMasterUrl().getHost()).isEqualTo("127.0.0.1");
    }
  }
}
