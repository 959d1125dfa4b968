package io.cowherd.agent.export;

import io.cowherd.agent.host.CommandFailedException;
import io.cowherd.agent.host.CommandTimedOutException;
import io.cowherd.agent.host.Nft;
import io.cowherd.agent.host.SlotId;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps AoE control frames from the segment away from this node's exporters: an nftables {@code
 * netdev} table per exporter interface whose ingress chain (priority -500, before any packet
 * socket of the protocol, so before vblade) drops every AoE <em>request</em> (R flag clear) of
 * MAC Mask List (command 2, AoEr11 §5), Reserve/Release (command 3, AoEr11 §6) and Query Config
 * with CCmd 3 or 4 (set / force set the config string, AoEr11 §4.5). vblade 25 obeys those from any
 * host: one mask add or reservation locks the real client out until vblade restarts, and a mask
 * delete of the first entry aborts vblade (seen on this machine). cowherd's clients (the Linux
 * {@code aoe} driver, iPXE) never send them; reads, writes and Query Config reads pass untouched.
 *
 * <p>VLAN tags do not hide a request: the kernel strips an 802.1Q or 802.1ad tag of any VID (with
 * no VLAN device for it the frame is marked for another host, which packet sockets still receive)
 * and, behind a priority tag (VID 0), the next tag too, before it hands the frame to the AoE
 * protocol's sockets, while the ingress hook reads the frame with its tags (nft's {@code @ll}
 * offsets count an offloaded tag as if it were inline). vblade 25 obeys such frames (seen on this
 * machine: a mask add tagged VID 0, VID 5 under 802.1ad, or VID 0 then VID 9 locked the client
 * out). So each request rule also matches behind one tag and behind a priority tag plus one tag,
 * and frames with two priority tags in a row (which the kernel would keep stripping) are dropped
 * whatever they carry.
 *
 * <p>This class is the one home of that rule. Each dropping rule counts its frames and puts the
 * frame's source MAC into the dynamic set {@value #OFFENDERS_SET} (timeout {@link
 * #OFFENDER_TIMEOUT}; a rule of its own, so a full set never stops a drop), so attempts can be
 * counted and named.
 *
 * <p>Lifecycle: {@link #ensure} installs the table (atomically, through {@code nft -f}) before the
 * first exporter on an interface starts and re-checks it when the last check is older than {@link
 * #VERIFY_EVERY}; a table that was removed or changed is installed again. {@link #start} re-checks
 * every guarded interface every {@link #VERIFY_EVERY} and tells the listener about every slot of an
 * interface whose drop counters grew, at most every {@link #NOTIFY_EVERY} (so the slot reconciler
 * reports the attempt). {@link
 * #release} removes the table when the last slot on the interface is gone (or moved to another
 * interface). When nft is missing or the kernel refuses the table, the guard is reported off
 * ({@link GuardState#active()} false, with the reason) and exporters still run.
 */
public final class IngressGuard {
  private static final Logger LOG = LoggerFactory.getLogger(IngressGuard.class);
  /** How often a guarded interface's table is re-read (verified, counters collected). */
  public static final Duration VERIFY_EVERY = Duration.ofSeconds(5);
  /**
   * Shortest time between two "drops grew" notifications of one interface's slots: a long attack
   * costs each slot one reconcile a minute, not one per check.
   */
  public static final Duration NOTIFY_EVERY = Duration.ofMinutes(1);
  /** How long a source MAC stays in the offenders set after its last dropped frame. */
  public static final Duration OFFENDER_TIMEOUT = Duration.ofHours(1);
  /** Name of the dynamic set of offending source MACs in each table. */
  public static final String OFFENDERS_SET = "offenders";
  /**
   * Most MACs the offenders set holds. A flood from forged MACs fills it (it then names only the
   * first ones; drops go on, see {@link #ruleset}); small, so that the table the guard reads every
   * {@link #VERIFY_EVERY} stays small (nft's default of 65535 lists as 3.7 MB of JSON, measured).
   */
  static final int OFFENDERS_MAX = 1024;
  /** Table names are this prefix and the interface name. */
  public static final String TABLE_PREFIX = "cowherd_";
  /**
   * What the guard drops, which is also the {@code command} label of the drop metric: the three
   * control requests, and frames behind two priority tags ({@code stacked-priority-tags}).
   */
  public static final List<String> RULES = List.of("mask-list", "reserve-release", "config-set", "stacked-priority-tags");
  /** 802.1Q and 802.1ad tag protocol IDs: the kernel strips both before a packet socket sees the frame. */
  private static final String TPIDS = "{ 0x8100, 0x88a8 }";
  /**
   * How a request is found: the match that puts the AoE header (the Ethernet type field before it)
   * at a known place, and that place's first bit ({@code @ll}). Untagged; behind one tag of any VID;
   * behind a priority tag and one more tag. The comment suffix names the case.
   */
  private record Encapsulation(String suffix, String match, int aoeStartBit) {}

  private static final List<Encapsulation> ENCAPSULATIONS = List.of(
      new Encapsulation("", "ether type 0x88a2", 112),
      new Encapsulation(" tagged", "@ll,96,16 " + TPIDS + " @ll,128,16 0x88a2", 144),
      new Encapsulation(" double-tagged",
          "@ll,96,16 " + TPIDS + " @ll,116,12 0 @ll,128,16 " + TPIDS + " @ll,160,16 0x88a2", 176));
  /** The comment of every rule of an intact table: a rule name of {@link #RULES} and the case. */
  static final List<String> RULE_COMMENTS = RULES.stream()
      .flatMap(r -> r.equals(RULES.getLast()) ? java.util.stream.Stream.of(r)
          : ENCAPSULATIONS.stream().map(e -> r + e.suffix()))
      .toList();
  /**
   * Interface names the guard writes into a ruleset: every name the CRD admits ({@code
   * spec.interface} pattern), which nft takes as a quoted device and within a table name.
   */
  private static final Pattern IFACE = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,14}");

  private final Nft nft;
  private final Clock clock;
  private final ExporterListener listener;
  private final Optional<String> disabledBecause;
  private final Map<String, Guarded> interfaces = new HashMap<>();

  /** One interface's guard; guarded by the IngressGuard's monitor. */
  private static final class Guarded {
    final Set<SlotId> slots = new HashSet<>();
    GuardState state;
    /** Counts of earlier installs of the table (added so totals never go back). */
    final Map<String, Long> base = new HashMap<>();
    Map<String, Long> lastSeen = Map.of();
    Instant notifiedAt = Instant.EPOCH;
    long notifiedTotal;
  }

  /**
   * @param listener told about every slot of an interface whose drop counters grew
   * @param disabledBecause if present, the guard installs nothing and reports itself off with this
   *     reason (a test switch and an operator's escape hatch)
   */
  public IngressGuard(Nft nft, Clock clock, ExporterListener listener, Optional<String> disabledBecause) {
    this.nft = nft;
    this.clock = clock;
    this.listener = listener;
    this.disabledBecause = disabledBecause;
  }

  /** The nftables table guarding {@code iface}. */
  public static String tableName(String iface) {
    return TABLE_PREFIX + iface;
  }

  /** Re-checks every guarded interface every {@link #VERIFY_EVERY} on {@code scheduler}. */
  public void start(ScheduledExecutorService scheduler) {
    scheduler.scheduleWithFixedDelay(this::poll, VERIFY_EVERY.toMillis(), VERIFY_EVERY.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Makes sure {@code iface} is guarded for slot {@code id} (installing or re-installing the table
   * when its last check is older than {@link #VERIFY_EVERY}); a slot that was on another
   * interface is released there. Never throws for nft or kernel failures: they make the guard off.
   *
   * @return the interface's guard as checked
   */
  public synchronized GuardState ensure(SlotId id, String iface) {
    for (var e : List.copyOf(interfaces.entrySet())) {
      if (!e.getKey().equals(iface) && e.getValue().slots.contains(id)) {
        releaseFrom(id, e.getKey());
      }
    }
    Guarded g = interfaces.computeIfAbsent(iface, i -> new Guarded());
    g.slots.add(id);
    if (g.state == null || g.state.checkedAt().isBefore(clock.instant().minus(VERIFY_EVERY))) {
      verify(iface, g);
    }
    return g.state;
  }

  /** The guard of {@code iface} as last checked, if a slot uses it. */
  public synchronized Optional<GuardState> state(String iface) {
    return Optional.ofNullable(interfaces.get(iface)).map(g -> g.state);
  }

  /** Every guarded interface's state (for metrics). */
  public synchronized List<GuardState> states() {
    return interfaces.values().stream().map(g -> g.state).filter(s -> s != null).toList();
  }

  /**
   * Slot {@code id} no longer exports: when it was the last slot on its interface, the table is
   * removed. A failure to remove is logged (the table only drops control frames).
   */
  public synchronized void release(SlotId id) {
    for (var e : List.copyOf(interfaces.entrySet())) {
      if (e.getValue().slots.contains(id)) {
        releaseFrom(id, e.getKey());
      }
    }
  }

  /**
   * Re-checks every guarded interface now; tells the listener about the slots of an interface whose
   * drops grew since it was last told (at most every {@link #NOTIFY_EVERY}).
   */
  public void poll() {
    Map<String, Set<SlotId>> grew = new HashMap<>();
    synchronized (this) {
      Instant now = clock.instant();
      for (var e : interfaces.entrySet()) {
        Guarded g = e.getValue();
        verify(e.getKey(), g);
        if (g.state.droppedTotal() > g.notifiedTotal && !now.isBefore(g.notifiedAt.plus(NOTIFY_EVERY))) {
          g.notifiedTotal = g.state.droppedTotal();
          g.notifiedAt = now;
          grew.put(e.getKey(), Set.copyOf(g.slots));
        }
      }
    }
    grew.forEach((iface, slots) -> slots.forEach(listener::exporterChanged));
  }

  private void releaseFrom(SlotId id, String iface) {
    Guarded g = interfaces.get(iface);
    g.slots.remove(id);
    if (!g.slots.isEmpty()) {
      return;
    }
    interfaces.remove(iface);
    if (disabledBecause.isPresent() || !IFACE.matcher(iface).matches()) {
      return;
    }
    try {
      nft.deleteNetdevTable(tableName(iface));
      LOG.info("{}: no exporter left; ingress guard table {} removed", iface, tableName(iface));
    } catch (CommandFailedException | CommandTimedOutException e) {
      LOG.warn("{}: cannot remove ingress guard table {}: {}", iface, tableName(iface), e.getMessage());
    }
  }

  /** Reads the table, installs it if missing or wrong, records the state. Called with the monitor held. */
  private void verify(String iface, Guarded g) {
    String table = tableName(iface);
    Instant now = clock.instant();
    if (disabledBecause.isPresent()) {
      g.state = new GuardState(iface, table, false, disabledBecause.get(), totals(g, Map.of()), List.of(), now);
      return;
    }
    if (!IFACE.matcher(iface).matches()) {
      g.state = new GuardState(iface, table, false, "interface name '" + iface + "' cannot be guarded",
          totals(g, Map.of()), List.of(), now);
      return;
    }
    try {
      Optional<Nft.NetdevTable> seen = nft.listNetdevTable(table);
      if (seen.isEmpty() || !intact(seen.get())) {
        if (seen.isPresent()) {
          LOG.warn("{}: ingress guard table {} was changed; installing it again", iface, table);
        } else if (g.state != null && g.state.active()) {
          LOG.warn("{}: ingress guard table {} was removed; installing it again", iface, table);
        }
        g.lastSeen.forEach((rule, n) -> g.base.merge(rule, n, Long::sum));
        g.lastSeen = Map.of();
        nft.load(ruleset(table, iface));
        seen = nft.listNetdevTable(table);
        if (seen.isEmpty() || !intact(seen.get())) {
          throw new IllegalStateException("table " + table + " does not read back as installed");
        }
        LOG.info("{}: ingress guard table {} installed: AoE mask list, reserve/release and config-set "
            + "requests from the segment are dropped", iface, table);
      }
      g.lastSeen = seen.get().ruleCounters();
      g.state = new GuardState(iface, table, true,
          "nftables netdev table " + table + " drops AoE mask list, reserve/release and config-set requests",
          totals(g, g.lastSeen), seen.get().setElements().getOrDefault(OFFENDERS_SET, List.of()), now);
    } catch (CommandFailedException | CommandTimedOutException | UncheckedIOException | IllegalStateException
        | IllegalArgumentException e) {
      String why = "ingress guard off on " + iface + ": " + e.getMessage();
      if (g.state == null || g.state.active() || !g.state.message().equals(why)) {
        LOG.warn("{}; exporters keep serving without it", why);
      }
      g.state = new GuardState(iface, table, false, why, totals(g, Map.of()), List.of(), now);
    }
  }

  private static Map<String, Long> totals(Guarded g, Map<String, Long> current) {
    Map<String, Long> sum = new LinkedHashMap<>();
    for (String rule : RULES) {
      sum.put(rule, 0L);
    }
    for (var counts : List.of(g.base, current)) {
      counts.forEach((comment, n) -> {
        String rule = comment.split(" ", 2)[0];
        if (sum.containsKey(rule)) {
          sum.merge(rule, n, Long::sum);
        }
      });
    }
    return sum;
  }

  /**
   * Whether a listed table has our ingress chain, every counting rule and the set. (The chain's
   * device is not in nft's JSON; the table is named after the interface and only this class writes it.)
   */
  static boolean intact(Nft.NetdevTable t) {
    return "ingress".equals(t.chains().get("ingress")) && t.ruleCounters().keySet().containsAll(RULE_COMMENTS)
        && t.setElements().containsKey(OFFENDERS_SET);
  }

  /**
   * The table for {@code iface}, replacing any table of that name in the same transaction.
   * Offsets are bits from the start of the Ethernet header ({@code @ll}, tags included): relative
   * to the AoE header's first byte (byte 14 of an untagged frame), bit 4 is the R flag (0x08 of Ver
   * and Flags), bits 40–47 the command and bits 124–127 (low nibble of byte 15) CCmd; AoEr11 §2, §4.
   * A tag's VID is the low 12 bits of the two bytes after its TPID (IEEE 802.1Q).
   */
  static String ruleset(String table, String iface) {
    StringBuilder rules = new StringBuilder();
    String[] commands = {"@ll,%d,8 2", "@ll,%d,8 3", "@ll,%d,8 1 @ll,%d,4 { 3, 4 }"};
    for (int c = 0; c < commands.length; c++) {
      for (Encapsulation e : ENCAPSULATIONS) {
        int at = e.aoeStartBit();
        dropRule(rules, e.match() + " @ll," + (at + 4) + ",1 0 " + commands[c].formatted(at + 40, at + 124),
            RULES.get(c) + e.suffix());
      }
    }
    dropRule(rules, "@ll,96,16 " + TPIDS + " @ll,116,12 0 @ll,128,16 " + TPIDS + " @ll,148,12 0", RULES.getLast());
    return "table netdev " + table + "\n"
        + "delete table netdev " + table + "\n"
        + "table netdev " + table + " {\n"
        + "  set " + OFFENDERS_SET + " { type ether_addr; size " + OFFENDERS_MAX + "; flags dynamic,timeout; timeout "
        + OFFENDER_TIMEOUT.toSeconds() + "s; }\n"
        + "  chain ingress {\n"
        + "    type filter hook ingress device \"" + iface + "\" priority -500; policy accept;\n"
        + rules
        + "  }\n"
        + "}\n";
  }

  /**
   * Two rules for one match: the first notes the sender in the offenders set, the second counts
   * and drops. Never one rule: when the set is full (its size, 65535 by default, of forged source
   * MACs) nft cannot add the sender and the rule stops there, so a drop after the update would not
   * happen (seen on this machine: after such a flood a mask add reached vblade).
   */
  private static void dropRule(StringBuilder rules, String match, String comment) {
    rules.append("    ").append(match).append(" update @").append(OFFENDERS_SET).append(" { ether saddr }\n");
    rules.append("    ").append(match).append(" counter drop comment \"").append(comment).append("\"\n");
  }

}
