package io.cowherd.agent.host;

import java.util.List;

/**
 * A running vblade process found in {@code /proc}.
 *
 * @param pid process id
 * @param target its positional arguments ({@link VbladeTarget#writeCache()}: no {@code -s} among the options)
 * @param options options and their values (e.g. {@code -s}, {@code -r}, {@code -m MAC}), without {@code --}:
 *     {@link Vblade#options} for exporters cowherd starts
 */
public record VbladeProcess(long pid, VbladeTarget target, List<String> options) {
  public VbladeProcess {
    options = List.copyOf(options);
  }

  /**
   * Whether this process is exactly the exporter cowherd would start for {@code wanted}: same
   * positionals and exactly {@link Vblade#options} (so an exporter an older agent started without
   * {@code -s} is not, and is replaced rather than adopted).
   */
  public boolean isExactly(VbladeTarget wanted) {
    return target.equals(wanted) && options.equals(Vblade.options(wanted));
  }
}
