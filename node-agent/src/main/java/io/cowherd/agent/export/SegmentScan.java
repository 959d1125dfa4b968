package io.cowherd.agent.export;

import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.aoe.initiator.DiscoveredTarget;
import java.time.Instant;
import java.util.List;

/**
 * What one broadcast Query Config (AoEr11 §4) on an interface brought back: every (target, MAC)
 * pair that answered within the wait.
 *
 * @param iface the interface it was sent on
 * @param localMac that interface's own MAC: every exporter on this host that serves on {@code
 *     iface} answers from it (those are told apart by {@code /proc}, not on the wire)
 * @param answers every distinct (target, MAC) that answered
 * @param scannedAt when the query was sent
 */
public record SegmentScan(String iface, MacAddress localMac, List<DiscoveredTarget> answers, Instant scannedAt) {
  public SegmentScan {
    answers = List.copyOf(answers);
  }

  /** MACs other than {@link #localMac} that answered for {@code shelf}/{@code slot}, in arrival order. */
  public List<MacAddress> foreignExporters(int shelf, int slot) {
    AoeTarget target = new AoeTarget(shelf, slot);
    return answers.stream()
        .filter(a -> a.target().equals(target) && !a.mac().equals(localMac))
        .map(DiscoveredTarget::mac)
        .distinct()
        .toList();
  }
}
