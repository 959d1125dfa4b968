package io.cowherd.agent.export;

import io.cowherd.aoe.frame.MacAddress;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Another exporter answers on the wire for a target this node would export: from another host,
 * or from another interface of this host on the same segment. Two exporters of one target corrupt
 * client data silently (the Linux initiator treats them as paths of one disk), so this node does
 * not export it while that one answers.
 *
 * @param target {@code e<shelf>.<slot>}
 * @param iface the interface the answers came in on
 * @param macs the foreign exporters' MAC addresses
 */
public record DuplicateExporter(String target, String iface, List<MacAddress> macs) {
  public DuplicateExporter {
    macs = List.copyOf(macs);
  }

  /** For status and Events. */
  public String message() {
    return "another exporter of " + target + " answers from MAC "
        + macs.stream().map(MacAddress::toString).collect(Collectors.joining(", ")) + " on " + iface
        + "; refusing to export a duplicate";
  }
}
