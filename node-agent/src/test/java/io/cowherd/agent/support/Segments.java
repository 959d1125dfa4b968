package io.cowherd.agent.support;

import io.cowherd.agent.export.SegmentScan;
import io.cowherd.agent.export.SegmentScanner;
import io.cowherd.aoe.frame.MacAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/** Segment scanners for unit tests, which have no network. */
public final class Segments {
  /** The MAC the fake interfaces have. */
  public static final MacAddress LOCAL_MAC = MacAddress.parse("02:00:00:00:00:01");

  private Segments() {}

  /** A segment where nothing answers. */
  public static SegmentScanner quiet() {
    return new SegmentScanner((iface, wait) -> new SegmentScan(iface, LOCAL_MAC, List.of(), Clock.systemUTC().instant()),
        Clock.systemUTC(), Duration.ZERO);
  }
}
