package io.cowherd.e2e.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The AoE ATA requests of one recorded client boot, as {@link BootTraceCapture} writes them: lines
 * {@code offset_us,lba,sectors,op,in_flight} ({@code op} R or W; sectors of 512 bytes; in_flight
 * counts the client's outstanding requests when this one was sent, itself included); lines starting
 * with {@code #} are comments (the first ones describe the capture).
 *
 * @param requests in the order the client sent them
 * @param comments the file's comment lines, without {@code #}
 */
public record BootTrace(List<Request> requests, List<String> comments) {
  /** The trace committed with the benchmark (classpath resource). */
  public static final String RESOURCE = "/bench/boot-trace.csv";

  /** One ATA request: one AoE frame of 1–2 sectors at MTU 1500. */
  public record Request(long offsetMicros, long lba, int sectors, boolean write, int inFlight) {}

  /**
   * What a replay issues as one initiator call: requests the client sent back to back at
   * contiguous LBAs in one direction while the previous ones were still outstanding (in flight
   * &gt; 1), so the initiator pipelines them with {@code window} frames in flight, as the client did;
   * a request sent alone (in flight 1) is a run of its own.
   *
   * @param sectors 512-byte sectors
   * @param window the most requests of the run the client had in flight
   */
  public record Run(long lba, int sectors, boolean write, int window) {}

  /**
   * Loads the committed trace ({@link #RESOURCE}).
   *
   * @throws IllegalStateException if it is not on the classpath
   */
  public static BootTrace committed() {
    try (InputStream in = BootTrace.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("no " + RESOURCE + " on the classpath (run hack/bench-storm.sh --capture)");
      }
      return parse(new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Loads a trace file.
   *
   * @throws IllegalArgumentException naming the line that does not parse
   */
  public static BootTrace load(Path file) {
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.US_ASCII)) {
      return parse(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static BootTrace parse(BufferedReader in) throws IOException {
    List<Request> requests = new ArrayList<>();
    List<String> comments = new ArrayList<>();
    int lineNo = 0;
    for (String line; (line = in.readLine()) != null; ) {
      lineNo++;
      if (line.startsWith("#")) {
        comments.add(line.substring(1).strip());
        continue;
      }
      if (line.isBlank()) {
        continue;
      }
      String[] f = line.split(",");
      try {
        if (f.length != 5 || !(f[3].equals("R") || f[3].equals("W"))) {
          throw new IllegalArgumentException("want offset_us,lba,sectors,R|W,in_flight");
        }
        requests.add(new Request(Long.parseLong(f[0]), Long.parseLong(f[1]), Integer.parseInt(f[2]), f[3].equals("W"),
            Integer.parseInt(f[4])));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("boot trace line " + lineNo + " '" + line + "': " + e.getMessage(), e);
      }
    }
    if (requests.isEmpty()) {
      throw new IllegalArgumentException("boot trace holds no request");
    }
    return new BootTrace(List.copyOf(requests), List.copyOf(comments));
  }

  /** The requests grouped into initiator calls (see {@link Run}), in order. */
  public List<Run> runs() {
    List<Run> runs = new ArrayList<>();
    long lba = -1;
    int sectors = 0;
    boolean write = false;
    int window = 0;
    for (Request r : requests) {
      if (sectors > 0 && r.inFlight() > 1 && r.write() == write && r.lba() == lba + sectors) {
        sectors += r.sectors();
        window = Math.max(window, r.inFlight());
        continue;
      }
      if (sectors > 0) {
        runs.add(new Run(lba, sectors, write, window));
      }
      lba = r.lba();
      sectors = r.sectors();
      write = r.write();
      window = r.inFlight();
    }
    runs.add(new Run(lba, sectors, write, window));
    return runs;
  }

  /** Bytes read by the whole trace. */
  public long readBytes() {
    return requests.stream().filter(r -> !r.write()).mapToLong(r -> r.sectors() * 512L).sum();
  }

  /** Bytes written by the whole trace. */
  public long writeBytes() {
    return requests.stream().filter(Request::write).mapToLong(r -> r.sectors() * 512L).sum();
  }

  /** The most requests the client had in flight at once. */
  public int maxInFlight() {
    return requests.stream().mapToInt(Request::inFlight).max().orElse(0);
  }

  /** Distinct 512-byte sectors read (what one client pulls into a page cache, at most). */
  public long distinctSectorsRead() {
    return requests.stream().filter(r -> !r.write())
        .flatMapToLong(r -> java.util.stream.LongStream.range(r.lba(), r.lba() + r.sectors())).distinct().count();
  }
}
