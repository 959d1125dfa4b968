package io.cowherd.agent.export;

import java.io.IOException;

/**
 * The interface to probe does not exist (ENODEV). No exporter can answer on it, and vblade fails
 * on it by itself ("No such device"), so {@link SegmentScanner} reports no duplicate for it (and
 * keeps no scan: it probes again once the interface exists).
 */
public final class InterfaceMissingException extends IOException {
  private static final long serialVersionUID = 1L;

  /**
   * @param message names the interface
   * @param cause the failed system call
   */
  public InterfaceMissingException(String message, Throwable cause) {
    super(message, cause);
  }
}
