package io.cowherd.operator.http;

/**
 * Answer of a health endpoint.
 *
 * @param ok true for HTTP 200, false for 503
 * @param message one line for humans, the response body
 */
public record HealthStatus(boolean ok, String message) {
  /** A passing check. */
  public static HealthStatus ok(String message) {
    return new HealthStatus(true, message);
  }

  /** A failing check. */
  public static HealthStatus failing(String message) {
    return new HealthStatus(false, message);
  }
}
