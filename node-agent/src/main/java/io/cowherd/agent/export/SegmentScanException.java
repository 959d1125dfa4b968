package io.cowherd.agent.export;

/**
 * The segment could not be checked for other exporters (the raw socket could not be opened or
 * used). Nothing is started while the check fails: an unchecked start could add a duplicate.
 */
public final class SegmentScanException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * @param message names the interface and the failure
   * @param cause the probe's exception
   */
  public SegmentScanException(String message, Throwable cause) {
    super(message, cause);
  }
}
