package io.cowherd.agent.host;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where exporters bind: the one home of the exporter-link rule (issue 11, goal 5). With {@link
 * Placement#SHARED} every vblade binds the slot's NIC itself, as vblade's own recipe does. With {@link
 * Placement#MACVLAN} each exporter gets a macvlan of its own on the NIC (mode bridge), named {@code
 * cw<shelf, 4 hex digits><slot, 2 hex digits>} ({@link #name}, 8 characters, within IFNAMSIZ) with a
 * MAC derived from its target ({@link #mac}), and vblade binds that.
 *
 * <p>Why: since Linux 4.6 every packet socket bound to a device sits on that device's {@code
 * ptype_specific} list, and {@code __netif_receive_skb_core} (net/core/dev.c) hands every received AoE
 * frame to every socket on it, each then running its BPF filter and dropping the frame: about 70 ns
 * per socket per frame here, so one reader beside 254 idle exporters on one NIC kept 0.14 of its
 * rate alone. A macvlan's rx_handler looks the destination MAC up in a hash and passes the frame to
 * that one macvlan, whose single socket is the only exporter that sees it (0.97 beside 254;
 * docs/design-notes.md, "Exporter fan-out"). Frames still visit the sockets on the NIC itself (the
 * agent's I/O and control-frame watches and the {@code orig_dev} list), so with macvlans no exporter
 * may stay on the NIC.
 *
 * <p>The MAC is {@code 02:<prefix>:<shelf high>:<shelf low>:<slot>}: locally administered and unicast
 * (IEEE 802 U/L bit set, I/G bit clear), the prefix two bytes of the chart's choice. An AoE address
 * is unique on its segment (the duplicate-exporter rule), so the MAC is too among cowherd's
 * exporters; it survives exporter and agent restarts and a slot's move to another node (clients keep
 * their path to the target; the switch relearns the port). The link is deleted when its exporter is
 * stopped, before the slot is released, so two ports never carry one MAC.
 *
 * <p>Reads go through sysfs ({@code /sys/class/net/<link>/address} and its {@code lower_<nic>} link,
 * which the kernel makes for every upper device, net/core/dev.c {@code netdev_adjacent_sysfs_add});
 * changes through {@code ip(8)} argument vectors with a timeout. Only macvlans named by {@link #name} whose
 * MAC is derived from that name under some prefix ({@code 02:xx:xx:<shelf hi>:<shelf lo>:<slot>}: a
 * link made before the prefix changed) are ever deleted: never another interface.
 */
public final class ExporterLinks {
  private static final Logger LOG = LoggerFactory.getLogger(ExporterLinks.class);
  /** How long one {@code ip} call may take. */
  public static final Duration TIMEOUT = Duration.ofSeconds(10);
  /** Names of exporter links: {@code cw}, shelf in 4 hex digits, slot in 2 (lower case). */
  private static final Pattern NAME = Pattern.compile("cw([0-9a-f]{4})([0-9a-f]{2})");
  /** The chart's default MAC prefix: {@code 02:c0:77:...}. */
  public static final String DEFAULT_PREFIX = "c0:77";
  private static final Pattern PREFIX = Pattern.compile("[0-9a-f]{2}:[0-9a-f]{2}");
  /** The link's own MAC in {@code ip -j link show} output (the first {@code address} field). */
  private static final Pattern ADDRESS = Pattern.compile("\"address\":\"([0-9a-f:]{17})\"");

  /** Where exporters bind. */
  public enum Placement {
    /** Every exporter on the slot's NIC (vblade's recipe; the default). */
    SHARED,
    /** Each exporter on a macvlan of its own on the slot's NIC. */
    MACVLAN;

    /**
     * Parses {@code shared} or {@code macvlan} (any case).
     *
     * @throws IllegalArgumentException for anything else
     */
    public static Placement parse(String value) {
      return switch (value == null ? "" : value.strip().toLowerCase(Locale.ROOT)) {
        case "shared" -> SHARED;
        case "macvlan" -> MACVLAN;
        default -> throw new IllegalArgumentException("exporter links must be 'shared' or 'macvlan', not '" + value + "'");
      };
    }
  }

  private final Placement placement;
  private final String prefix;
  private final Path sysRoot;
  /** Address and up state of links and NICs (sysfs). */
  private final NetLinks netLinks;
  private final CommandRunner runner;
  private final String ip;

  /**
   * @param placement where exporters bind
   * @param prefix the two MAC bytes after {@code 02}, {@code xx:xx} (hex, any case)
   * @param sysRoot sysfs, normally {@code /sys}
   * @param runner runs {@code ip}; {@code null}: no link is ever made, listed or deleted ({@link #shared})
   * @param ip the {@code ip} program of iproute2
   * @throws IllegalArgumentException if {@code prefix} is not two hex bytes
   */
  public ExporterLinks(Placement placement, String prefix, Path sysRoot, CommandRunner runner, String ip) {
    String p = prefix == null ? "" : prefix.strip().toLowerCase(Locale.ROOT);
    if (!PREFIX.matcher(p).matches()) {
      throw new IllegalArgumentException("exporter MAC prefix must be two hex bytes like " + DEFAULT_PREFIX
          + ", not '" + prefix + "'");
    }
    this.placement = placement;
    this.prefix = p;
    this.sysRoot = sysRoot;
    this.netLinks = new NetLinks(sysRoot);
    this.runner = runner;
    this.ip = ip;
  }

  /**
   * Every exporter on its NIC, and no link managed at all: {@link #list} is empty and {@link #delete}
   * deletes nothing, whatever the host holds (tests, and supervisors built without links). The agent
   * itself uses the full constructor, so that a switch from {@code macvlan} back to {@code shared}
   * still deletes the links left.
   */
  public static ExporterLinks shared(Path sysRoot) {
    return new ExporterLinks(Placement.SHARED, DEFAULT_PREFIX, sysRoot, null, "ip");
  }

  public Placement placement() {
    return placement;
  }

  /** The link name for target {@code shelf}.{@code slot}: {@code cw<shelf 4 hex><slot 2 hex>}. */
  public static String name(int shelf, int slot) {
    return String.format(Locale.ROOT, "cw%04x%02x", shelf, slot);
  }

  /** Whether {@code iface} is named like an exporter link (whoever made it). */
  public static boolean isLinkName(String iface) {
    return iface != null && NAME.matcher(iface).matches();
  }

  /** The MAC of target {@code shelf}.{@code slot}'s link: {@code 02:<prefix>:<shelf hi>:<shelf lo>:<slot>}. */
  public String mac(int shelf, int slot) {
    return "02:" + prefix + targetBytes(shelf, slot);
  }

  /** The last three bytes of a link's MAC, whatever the prefix: {@code :<shelf hi>:<shelf lo>:<slot>}. */
  private static String targetBytes(int shelf, int slot) {
    return String.format(Locale.ROOT, ":%02x:%02x:%02x", (shelf >> 8) & 0xff, shelf & 0xff, slot & 0xff);
  }

  /** {@link #targetBytes} of the target link {@code name} is named for ({@code name} matched {@link #NAME}). */
  private static String targetBytes(Matcher name) {
    return targetBytes(Integer.parseInt(name.group(1), 16), Integer.parseInt(name.group(2), 16));
  }

  /**
   * The interface an exporter of {@code shelf}.{@code slot} on NIC {@code nic} binds: {@code nic}
   * itself ({@link Placement#SHARED}) or its link {@link #name}.
   */
  public String bindFor(String nic, int shelf, int slot) {
    return placement == Placement.MACVLAN ? name(shelf, slot) : nic;
  }

  /**
   * The NIC under exporter link {@code link}, if {@code link} is one of ours: named by {@link #name},
   * with the derived MAC, and exactly one lower device (sysfs). Cheap (three sysfs reads); used for
   * every vblade found in {@code /proc} whose interface is named like a link, so that its claims are
   * judged on the NIC (the segment) and not on the link.
   */
  public Optional<String> nicOf(String link) {
    Matcher m = link == null ? null : NAME.matcher(link);
    if (m == null || !m.matches()) {
      return Optional.empty();
    }
    String want = "02:" + prefix + targetBytes(m);
    return netLinks.address(link).filter(want::equalsIgnoreCase).flatMap(a -> lowerOf(link));
  }

  /**
   * Makes {@code link}, the exporter link of {@code shelf}.{@code slot}, exist on {@code nic} and be up:
   * nothing to do when it already is ({@link #nicOf} says {@code nic}); a link of that name on
   * another NIC or with another MAC is deleted first (only if its kind is macvlan). A new link gets
   * no IPv6 address ({@code addrgenmode none}: 255 links send no DAD or router solicitation).
   *
   * @throws IllegalStateException if the placement is {@link Placement#SHARED} or {@code link} is not
   *     {@code shelf}.{@code slot}'s name
   * @throws CommandFailedException if {@code ip} refuses (e.g. no NIC {@code nic}, no macvlan module,
   *     or an interface named {@code link} that is no macvlan)
   * @throws CommandTimedOutException if {@code ip} hangs
   */
  public void ensure(String nic, int shelf, int slot, String link) {
    if (placement != Placement.MACVLAN || runner == null || !link.equals(name(shelf, slot))) {
      throw new IllegalStateException("no exporter link " + link + " for e" + shelf + "." + slot + " with placement "
          + placement);
    }
    if (nicOf(link).filter(nic::equals).isPresent()) {
      String nicMtu = read(nic, "mtu");
      if (nicMtu != null && !nicMtu.equals(read(link, "mtu"))) {
        // A link keeps the MTU it was made with; vblade sizes its frames from its interface's MTU at start.
        runner.run(cmd("link", "set", "dev", link, "mtu", nicMtu));
      }
      if (netLinks.state(link) != NetLinks.State.UP) {
        noAddresses(link); // made by an agent killed before it could do this
        runner.run(cmd("link", "set", "dev", link, "up"));
      }
      return;
    }
    if (Files.isDirectory(sysRoot.resolve("class/net").resolve(link))) {
      LOG.warn("exporter link {} exists but not as e{}.{}'s on {}: recreating it", link, shelf, slot, nic);
      if (!delete(link)) {
        throw new IllegalStateException("interface " + link + " exists and is no cowherd exporter link (a macvlan with"
            + " MAC 02:xx:xx" + targetBytes(shelf, slot) + "): remove or rename it; the agent"
            + " binds e" + shelf + "." + slot + "'s exporter to a link of that name");
      }
    }
    runner.run(cmd("link", "add", "link", nic, "name", link, "address", mac(shelf, slot), "type", "macvlan",
        "mode", "bridge"));
    if (lowerOf(link).filter(lower -> !lower.equals(nic)).isPresent()) {
      // The kernel puts a macvlan on the lowest device: on a NIC that is itself a macvlan (or another upper
      // device) the link lands beside it, where the NIC's own probe reaches it as a sibling.
      delete(link);
      throw new IllegalStateException("interface " + nic + " is itself a macvlan or another upper device: an "
          + "exporter link cannot sit on it; use exporter links 'shared' or the underlying NIC");
    }
    noAddresses(link);
    runner.run(cmd("link", "set", "dev", link, "up"));
    LOG.info("exporter link {} ({}) added on {}", link, mac(shelf, slot), nic);
  }

  /**
   * Deletes exporter link {@code link} if it exists and is ours: named by {@link #name}, of kind
   * {@code macvlan} ({@code ip -d -j link show}), with a MAC derived from the name under this or any
   * other prefix ({@code 02:xx:xx:<shelf hi>:<shelf lo>:<slot>}, so links made before a prefix change
   * are replaced and swept too). Anything else of that name is left alone (and logged). Without a
   * runner ({@link #shared}) nothing is deleted.
   *
   * @return whether a link was deleted
   * @throws CommandFailedException if {@code ip} fails other than "no such device"
   */
  public boolean delete(String link) {
    Matcher m = link == null || runner == null ? null : NAME.matcher(link);
    if (m == null || !m.matches() || !Files.isDirectory(sysRoot.resolve("class/net").resolve(link))) {
      return false;
    }
    String want = targetBytes(m);
    String shown;
    try {
      shown = runner.run(cmd("-d", "-j", "link", "show", "dev", link)).stdout();
    } catch (CommandFailedException e) {
      if (isNoDevice(e)) {
        return false;
      }
      throw e;
    }
    String lower = shown.toLowerCase(Locale.ROOT);
    Matcher address = ADDRESS.matcher(lower);
    if (!lower.contains("\"info_kind\":\"macvlan\"") || !address.find()
        || !address.group(1).startsWith("02:") || !address.group(1).endsWith(want)) {
      LOG.warn("interface {} is named like an exporter link but is no cowherd macvlan (02:xx:xx{}): left alone", link,
          want);
      return false;
    }
    try {
      runner.run(cmd("link", "del", "dev", link));
    } catch (CommandFailedException e) {
      if (isNoDevice(e)) {
        return false;
      }
      throw e;
    }
    LOG.info("exporter link {} deleted", link);
    return true;
  }

  /**
   * Every interface named like an exporter link on this host (sysfs), ours or not; empty without a
   * runner ({@link #shared}: no link is managed).
   */
  public List<String> list() {
    if (runner == null) {
      return List.of();
    }
    List<String> names = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(sysRoot.resolve("class/net"), "cw*")) {
      s.forEach(p -> {
        if (isLinkName(p.getFileName().toString())) {
          names.add(p.getFileName().toString());
        }
      });
    } catch (IOException e) {
      return List.of();
    }
    return names.stream().sorted().toList();
  }

  /** {@code addrgenmode none}: no IPv6 link-local address, so no DAD or router solicitation from the link. */
  private void noAddresses(String link) {
    try {
      runner.run(cmd("link", "set", "dev", link, "addrgenmode", "none"));
    } catch (CommandFailedException e) {
      LOG.debug("exporter link {}: addrgenmode none refused ({}); IPv6 is off on this host", link, e.lastStderrLine());
    }
  }

  /** The one lower device of {@code link} in sysfs ({@code lower_<dev>}), whatever its MAC. */
  private Optional<String> lowerOf(String link) {
    List<String> lowers = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(sysRoot.resolve("class/net").resolve(link), "lower_*")) {
      s.forEach(p -> lowers.add(p.getFileName().toString().substring("lower_".length())));
    } catch (IOException e) {
      return Optional.empty();
    }
    return lowers.size() == 1 ? Optional.of(lowers.getFirst()) : Optional.empty();
  }

  /** {@code /sys/class/net/<iface>/<attribute>}, stripped; null if unreadable. */
  private String read(String iface, String attribute) {
    try {
      return Files.readString(sysRoot.resolve("class/net").resolve(iface).resolve(attribute)).strip();
    } catch (IOException e) {
      return null;
    }
  }

  private HostCommand cmd(String... args) {
    List<String> argv = new ArrayList<>(args.length + 1);
    argv.add(ip);
    argv.addAll(List.of(args));
    return new HostCommand(argv, TIMEOUT);
  }

  private static boolean isNoDevice(CommandFailedException e) {
    String err = e.stderr();
    return err.contains("Cannot find device") || err.contains("does not exist") || err.contains("No such device");
  }

  /** For logs: the placement and the MAC pattern. */
  @Override
  public String toString() {
    return placement == Placement.SHARED ? "shared (exporters on their NIC)"
        : "macvlan per exporter (MAC 02:" + prefix + ":<shelf>:<slot>)";
  }
}
