package io.cowherd.api;

import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An Ethernet unicast MAC address in the one form cowherd stores and compares: six lower-case hex
 * pairs joined by {@code :} ({@code 52:54:00:12:34:56}). The single home of MAC parsing for the CRD
 * patterns, the operator and the boot endpoint.
 *
 * <p>Accepted input: six pairs of hex digits (either case) joined by {@code :}, nothing else (no
 * {@code -}, no dots, no surrounding space). The group bit (least significant bit of the first
 * octet, IEEE 802-2014 8.2) must be clear: a multicast or broadcast address is never a sender.
 *
 * @param value the normalised (lower-case) form
 */
public record MacAddress(String value) {
  /**
   * The CRD pattern for a unicast MAC in colon form, either case. The second hex digit is even, so
   * the group bit of the first octet is clear.
   */
  public static final String PATTERN = "^[0-9A-Fa-f][02468ACEace](:[0-9A-Fa-f]{2}){5}$";
  /** The CRD pattern for a MAC prefix of 1 to 6 octets in colon form (an OUI is 3 octets). */
  public static final String PREFIX_PATTERN = "^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){0,5}$";
  private static final Pattern COMPILED = Pattern.compile(PATTERN);

  /** @throws IllegalArgumentException when {@code value} is not the normalised form of a unicast MAC */
  public MacAddress {
    if (value == null || !COMPILED.matcher(value).matches() || !value.equals(value.toLowerCase(Locale.ROOT))) {
      throw new IllegalArgumentException("not a normalised unicast MAC address: " + value);
    }
  }

  /**
   * Parses {@code text} strictly (see the class comment).
   *
   * @return the address, or empty when {@code text} is null, too long or not a unicast MAC in colon form
   */
  public static Optional<MacAddress> parse(String text) {
    if (text == null || text.length() != 17 || !COMPILED.matcher(text).matches()) {
      return Optional.empty();
    }
    return Optional.of(new MacAddress(text.toLowerCase(Locale.ROOT)));
  }

  /** The address from 6 bytes (e.g. a frame's source or an interface's hardware address). */
  public static MacAddress of(byte[] octets) {
    if (octets.length != 6) {
      throw new IllegalArgumentException("a MAC address has 6 octets, not " + octets.length);
    }
    return new MacAddress(HexFormat.ofDelimiter(":").formatHex(octets));
  }

  /** The 12 hex digits without separators, lower case: {@code 525400123456}. */
  public String hex() {
    return value.replace(":", "");
  }

  /** Whether this address starts with {@code prefix} (colon form, either case, 1 to 6 octets). */
  public boolean hasPrefix(String prefix) {
    return prefix != null && value.startsWith(prefix.toLowerCase(Locale.ROOT))
        && (prefix.length() == value.length() || value.charAt(prefix.length()) == ':');
  }

  @Override
  public String toString() {
    return value;
  }
}
