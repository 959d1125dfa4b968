package io.cowherd.agent.host;

/** An exporter could not be moved into the exporter cgroup ({@link ExporterCgroup#enter}). */
public class ExporterCgroupException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ExporterCgroupException(String message) {
    super(message);
  }
}
