package io.cowherd.operator.clients;

import io.cowherd.api.MacAddress;
import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.ClientsSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Decides which client of a pool holds which slot. Pure: the same pool and clients give the same
 * answer. The one home of the assignment rules:
 *
 * <ol>
 *   <li>A client whose MAC another client of the pool already has (one holding a slot, else older
 *       by creation time, then name) gets nothing: {@link #DUPLICATE_MAC}. (CEL cannot see other objects, so this is a
 *       reconcile-time check.)
 *   <li>A client keeps the slot it holds ({@code status.slot}) for good while the slot exists,
 *       even when its MAC changes (a re-bound NIC). A slot removed by scale-down is released:
 *       {@link #SLOT_REMOVED}.
 *   <li>A pinned client ({@code spec.slot}) takes its slot if nobody holds it; out of range:
 *       {@link #SLOT_OUT_OF_RANGE}; held by another: {@link #SLOT_TAKEN} (a slot never changes
 *       hands while its holder exists: its COW store holds the holder's data).
 *   <li>Other clients, oldest first, take the lowest free slot; an agent-enrolled client only if
 *       its MAC has an allowed prefix ({@link #PREFIX_NOT_ALLOWED}) and fewer than the pool's
 *       {@code enrollmentsPerMinute} were assigned in the last minute ({@link #RATE_LIMITED}); none
 *       free: {@link #POOL_FULL}.
 * </ol>
 */
public final class ClientAssignment {
  /** Reason: assigned a free slot (or kept it). */
  public static final String ASSIGNED = "Assigned";
  /** Reason: holds the slot it is pinned to. */
  public static final String PINNED = "Pinned";
  public static final String POOL_FULL = "PoolFull";
  public static final String RATE_LIMITED = "RateLimited";
  public static final String DUPLICATE_MAC = "DuplicateMac";
  public static final String SLOT_TAKEN = "SlotTaken";
  public static final String SLOT_OUT_OF_RANGE = "SlotOutOfRange";
  public static final String SLOT_REMOVED = "SlotRemoved";
  public static final String PREFIX_NOT_ALLOWED = "PrefixNotAllowed";
  public static final String INVALID_MAC = "InvalidMac";
  /** Window of {@code enrollmentsPerMinute}. */
  public static final Duration RATE_WINDOW = Duration.ofMinutes(1);

  /**
   * One client's decided assignment.
   *
   * @param client the client as read
   * @param mac its normalised MAC, null when unparseable
   * @param slot the slot it holds, or null
   * @param reason condition reason (one of the constants)
   * @param message human-readable condition message
   * @param newlyAssigned true when this decision gives it a slot it did not hold
   */
  public record Decision(AoeBootClient client, MacAddress mac, Integer slot, String reason, String message,
      boolean newlyAssigned) {
    /** Whether the client holds a slot. */
    public boolean assigned() {
      return slot != null;
    }
  }

  /**
   * The outcome for a pool.
   *
   * @param decisions one per client, in the order decided
   * @param macsBySlot the client MAC of each held slot (lower case)
   * @param rateLimited whether some client waits only for the rate limit (reconcile again later)
   */
  public record Outcome(List<Decision> decisions, Map<Integer, String> macsBySlot, boolean rateLimited) {}

  private ClientAssignment() {}

  /**
   * Decides for {@code clients} (those naming {@code pool}, any order) at time {@code now}.
   *
   * @param pool the pool (replicas, shelf, clients settings)
   * @param clients the pool's clients, as fresh as the caller can read them
   * @param now current time, for the rate window
   */
  public static Outcome decide(AoeBootPool pool, List<AoeBootClient> clients, Instant now) {
    int replicas = pool.getSpec().replicasOrZero();
    ClientsSpec settings = pool.getSpec().clientsOrDefault();
    List<AoeBootClient> ordered = new ArrayList<>(clients);
    ordered.sort(Comparator.comparing((AoeBootClient c) -> String.valueOf(c.getMetadata().getCreationTimestamp()))
        .thenComparing(c -> c.getMetadata().getName()));

    Map<String, Decision> decided = new LinkedHashMap<>();
    Map<Integer, String> holder = new TreeMap<>(); // slot -> client name
    Map<String, MacAddress> macs = new HashMap<>();
    Set<MacAddress> seenMacs = new HashSet<>();
    List<AoeBootClient> candidates = new ArrayList<>();

    // 1. MAC validity and duplicates: a client holding a slot keeps its MAC over one that does not.
    List<AoeBootClient> holdersFirst = new ArrayList<>(ordered);
    holdersFirst.sort(Comparator.comparing((AoeBootClient c) -> c.getStatus() == null || c.getStatus().getSlot() == null));
    for (AoeBootClient c : holdersFirst) {
      Optional<MacAddress> mac = MacAddress.parse(c.getSpec() == null ? null : c.getSpec().getMac());
      if (mac.isEmpty()) {
        decided.put(name(c), new Decision(c, null, null, INVALID_MAC, "spec.mac is not a unicast MAC", false));
      } else if (!seenMacs.add(mac.get())) {
        decided.put(name(c), new Decision(c, mac.get(), null, DUPLICATE_MAC,
            "MAC " + mac.get() + " belongs to an older client of pool " + poolName(pool) + "; delete one of them", false));
      } else {
        macs.put(name(c), mac.get());
        candidates.add(c);
      }
    }
    // 2. Sticky: keep held slots that still exist.
    for (AoeBootClient c : candidates) {
      Integer held = c.getStatus() == null ? null : c.getStatus().getSlot();
      if (held == null) {
        continue;
      }
      if (held >= replicas) {
        decided.put(name(c), new Decision(c, macs.get(name(c)), null, SLOT_REMOVED,
            "slot " + held + " was removed by scale-down (replicas " + replicas + "); its COW data followed the pool's"
                + " reclaimPolicy; the client gets a free slot when there is one", false));
      } else if (!holder.containsKey(held)) {
        holder.put(held, name(c));
        boolean pinned = c.getSpec().getSlot() != null;
        decided.put(name(c), new Decision(c, macs.get(name(c)), held, pinned && held.equals(c.getSpec().getSlot())
            ? PINNED : ASSIGNED, "boots " + Names.target(pool.getSpec().getShelf(), held), false));
      }
    }
    // 3. Pinned clients without a slot.
    for (AoeBootClient c : candidates) {
      Integer pin = c.getSpec().getSlot();
      if (pin == null || heldBy(decided, c)) {
        continue;
      }
      if (pin >= replicas) {
        decided.put(name(c), new Decision(c, macs.get(name(c)), null, SLOT_OUT_OF_RANGE,
            "spec.slot " + pin + " is not below the pool's replicas (" + replicas + ")", false));
      } else if (holder.containsKey(pin)) {
        decided.put(name(c), new Decision(c, macs.get(name(c)), null, SLOT_TAKEN,
            "slot " + pin + " is held by client " + holder.get(pin) + "; a slot never changes hands while its holder exists",
            false));
      } else {
        holder.put(pin, name(c));
        decided.put(name(c), new Decision(c, macs.get(name(c)), pin, PINNED,
            "boots " + Names.target(pool.getSpec().getShelf(), pin), true));
      }
    }
    // 4. Everyone else, oldest first.
    long recent = candidates.stream().filter(c -> assignedWithin(c, now)).count();
    int limit = settings.enrollmentsPerMinuteOrDefault();
    boolean rateLimited = false;
    for (AoeBootClient c : candidates) {
      if (c.getSpec().getSlot() != null || heldBy(decided, c)) {
        continue;
      }
      MacAddress mac = macs.get(name(c));
      boolean enrolled = isEnrolled(c);
      if (enrolled && !settings.admits(mac)) {
        decided.put(name(c), new Decision(c, mac, null, PREFIX_NOT_ALLOWED,
            "MAC " + mac + " has none of the pool's spec.clients.macPrefixes", false));
        continue;
      }
      Optional<Integer> free = lowestFree(holder, replicas);
      if (free.isEmpty()) {
        decided.put(name(c), new Decision(c, mac, null, POOL_FULL,
            "pool " + poolName(pool) + " is full (" + replicas + " slots): MAC " + mac + " has no slot", false));
        continue;
      }
      if (enrolled && recent >= limit) {
        rateLimited = true;
        decided.put(name(c), new Decision(c, mac, null, RATE_LIMITED,
            "more than " + limit + " automatic enrollments in the last minute; waiting", false));
        continue;
      }
      holder.put(free.get(), name(c));
      if (enrolled) {
        recent++;
      }
      decided.put(name(c), new Decision(c, mac, free.get(), ASSIGNED,
          "boots " + Names.target(pool.getSpec().getShelf(), free.get()), true));
    }

    Map<Integer, String> macsBySlot = new TreeMap<>();
    List<Decision> decisions = new ArrayList<>();
    for (AoeBootClient c : ordered) {
      Decision d = decided.get(name(c));
      decisions.add(d);
      if (d.assigned()) {
        macsBySlot.put(d.slot(), d.mac().value());
      }
    }
    return new Outcome(List.copyOf(decisions), macsBySlot, rateLimited);
  }

  /** Whether a node agent enrolled {@code client} (it carries {@link Names#ENROLLED_BY_LABEL}). */
  public static boolean isEnrolled(AoeBootClient client) {
    Map<String, String> labels = client.getMetadata().getLabels();
    return labels != null && labels.containsKey(Names.ENROLLED_BY_LABEL);
  }

  private static boolean heldBy(Map<String, Decision> decided, AoeBootClient c) {
    Decision d = decided.get(name(c));
    return d != null;
  }

  private static boolean assignedWithin(AoeBootClient c, Instant now) {
    if (!isEnrolled(c) || c.getStatus() == null || c.getStatus().getAssignedAt() == null || c.getStatus().getSlot() == null) {
      return false;
    }
    try {
      return Instant.parse(c.getStatus().getAssignedAt()).isAfter(now.minus(RATE_WINDOW));
    } catch (DateTimeParseException e) {
      return false;
    }
  }

  private static Optional<Integer> lowestFree(Map<Integer, String> holder, int replicas) {
    for (int n = 0; n < replicas; n++) {
      if (!holder.containsKey(n)) {
        return Optional.of(n);
      }
    }
    return Optional.empty();
  }

  private static String name(AoeBootClient c) {
    return c.getMetadata().getName();
  }

  private static String poolName(AoeBootPool pool) {
    return pool.getMetadata().getName();
  }
}
