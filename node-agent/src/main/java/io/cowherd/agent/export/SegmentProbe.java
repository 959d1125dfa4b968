package io.cowherd.agent.export;

import java.io.IOException;
import java.time.Duration;

/** Sends one broadcast Query Config on an interface and collects the answers. */
@FunctionalInterface
public interface SegmentProbe {
  /**
   * @param iface interface to broadcast on
   * @param wait how long to collect answers
   * @throws IOException if the interface cannot be used (missing, no raw socket permission)
   */
  SegmentScan probe(String iface, Duration wait) throws IOException;
}
