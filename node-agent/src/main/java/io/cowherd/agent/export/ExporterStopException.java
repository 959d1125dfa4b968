package io.cowherd.agent.export;

/** An exporter could not be made to exit (even after SIGKILL); teardown waits and retries. */
public class ExporterStopException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ExporterStopException(String message) {
    super(message);
  }
}
