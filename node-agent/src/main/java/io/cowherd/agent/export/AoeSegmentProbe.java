package io.cowherd.agent.export;

import io.cowherd.aoe.initiator.AoeInitiator;
import io.cowherd.aoe.initiator.InitiatorOptions;
import io.cowherd.aoe.net.SyscallException;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * {@link SegmentProbe} through the project's own AoE initiator: opens an {@code AF_PACKET} raw
 * socket on the interface (in the agent's network namespace: the host's), broadcasts one Query
 * Config to {@code e65535.255} and collects the replies. Needs root (CAP_NET_RAW), as vblade does,
 * and the JVM flag {@code --enable-native-access=ALL-UNNAMED}.
 */
public final class AoeSegmentProbe implements SegmentProbe {
  private final Clock clock;

  /** @param clock stamps each scan with the time its query was sent */
  public AoeSegmentProbe(Clock clock) {
    this.clock = clock;
  }

  /** @throws InterfaceMissingException if {@code iface} does not exist (ENODEV) */
  @Override
  public SegmentScan probe(String iface, Duration wait) throws IOException {
    AoeInitiator initiator;
    try {
      initiator = AoeInitiator.open(iface, InitiatorOptions.defaults());
    } catch (SyscallException e) {
      if ("ENODEV".equals(e.errnoName())) {
        throw new InterfaceMissingException("interface " + iface + " does not exist", e);
      }
      throw e;
    }
    try (initiator) {
      Instant sent = clock.instant();
      return new SegmentScan(iface, initiator.localAddress(), initiator.discover(wait), sent);
    }
  }
}
