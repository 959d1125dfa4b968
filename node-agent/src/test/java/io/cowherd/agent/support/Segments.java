package io.cowherd.agent.support;

import io.cowherd.agent.export.ControlFrameWatch;
import io.cowherd.agent.export.ExporterListener;
import io.cowherd.agent.export.IngressGuard;
import io.cowherd.agent.export.SegmentScan;
import io.cowherd.agent.export.SegmentScanner;
import io.cowherd.agent.export.VbladeSupervisor;
import io.cowherd.agent.host.Nft;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.aoe.net.FrameChannel;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;

/** Segment scanners for unit tests, which have no network. */
public final class Segments {
  /** The MAC the fake interfaces have. */
  public static final MacAddress LOCAL_MAC = MacAddress.parse("02:00:00:00:00:01");

  private Segments() {}

  /** A control frame watch whose listeners never receive anything (unit tests have no network). */
  public static ControlFrameWatch silentWatch(VbladeSupervisor supervisor) {
    return new ControlFrameWatch(iface -> new FrameChannel() {
      @Override
      public MacAddress localAddress() {
        return LOCAL_MAC;
      }

      @Override
      public int mtuBytes() {
        return 1500;
      }

      @Override
      public void send(byte[] frame, int offset, int lengthBytes) {
        throw new UnsupportedOperationException("silent channel");
      }

      @Override
      public int receive(byte[] buffer, int offset, Duration timeout) {
        LockSupport.parkNanos(timeout.toNanos());
        return TIMED_OUT;
      }

      @Override
      public void close() {}
    }, supervisor, Clock.systemUTC());
  }

  /** An ingress guard switched off (unit tests change no host firewall). */
  public static IngressGuard guardOff(ExporterListener listener) {
    return new IngressGuard(new Nft(command -> {
      throw new UnsupportedOperationException("no nft in unit tests: " + command);
    }, "nft"), Clock.systemUTC(), listener, Optional.of("switched off in this unit test"));
  }

  /** A segment where nothing answers. */
  public static SegmentScanner quiet() {
    return new SegmentScanner((iface, wait) -> new SegmentScan(iface, LOCAL_MAC, List.of(), Clock.systemUTC().instant()),
        Clock.systemUTC(), Duration.ZERO);
  }
}
