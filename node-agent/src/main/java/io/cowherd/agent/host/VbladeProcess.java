package io.cowherd.agent.host;

import java.util.List;

/**
 * A running vblade process found in {@code /proc}.
 *
 * @param pid process id
 * @param target its positional arguments
 * @param options options and their values (e.g. {@code -r}, {@code -m MAC}), without {@code --}; empty for
 *     exporters cowherd starts
 */
public record VbladeProcess(long pid, VbladeTarget target, List<String> options) {
  public VbladeProcess {
    options = List.copyOf(options);
  }

  /** Whether this process is exactly the exporter cowherd would start for {@code wanted}. */
  public boolean isExactly(VbladeTarget wanted) {
    return options.isEmpty() && target.equals(wanted);
  }
}
