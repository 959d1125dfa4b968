package io.cowherd.agent.boot;

import io.cowherd.api.MacAddress;
import java.nio.charset.StandardCharsets;

/**
 * The iPXE scripts the boot endpoint answers. Pure. Every script starts with {@code #!ipxe} (iPXE
 * runs a downloaded file as a script only with that magic line, ipxe.org/scripting) and is at most
 * {@link #MAX_BYTES} bytes.
 *
 * <p>Text shown with {@code echo} is reduced to characters iPXE prints as they are: iPXE expands
 * {@code ${...}} settings anywhere in a command line, treats {@code #} as a comment and {@code ||}
 * / {@code &&} as control, so {@code $}, {@code #}, {@code |}, {@code &}, quotes, backslashes and
 * control characters become {@code ?}.
 */
public final class BootScripts {
  /** Largest script answered, in bytes. */
  public static final int MAX_BYTES = 4096;
  /** Retries of a client without a slot before its script powers it off. */
  public static final int MAX_TRIES = 20;

  private BootScripts() {}

  /**
   * The script that SAN-boots {@code target} ({@code e<shelf>.<slot>}) for {@code mac}: on failure
   * it says so, waits 10 s and fetches its script again.
   *
   * @param hostname host name to set as iPXE's {@code hostname} setting, or null
   * @param kernelArgs extra kernel arguments recorded as the iPXE setting {@code cowherd-args}, or null
   */
  public static String sanboot(MacAddress mac, String target, String client, String hostname, String kernelArgs) {
    StringBuilder s = new StringBuilder("#!ipxe\n");
    s.append("echo cowherd: ").append(printable(mac + " is client " + client + ", booting aoe:" + target)).append('\n');
    if (hostname != null && !hostname.isEmpty()) {
      s.append("set hostname ").append(printable(hostname)).append('\n');
    }
    if (kernelArgs != null && !kernelArgs.isEmpty()) {
      s.append("set cowherd-args ").append(printable(kernelArgs)).append('\n');
    }
    s.append("sanboot aoe:").append(printable(target)).append(" || goto failed\n");
    s.append(":failed\n");
    s.append("echo cowherd: sanboot aoe:").append(printable(target)).append(" failed, trying again in 10 s\n");
    s.append("sleep 10\n");
    s.append("chain --replace --autofree ").append(retryUri(1)).append('\n');
    return bounded(s.toString());
  }

  /**
   * The script for a MAC with no slot (yet): says why, waits {@code waitSeconds}, fetches its
   * script again; after {@link #MAX_TRIES} tries powers the machine off (or exits to the firmware
   * when the iPXE build has no {@code poweroff}).
   *
   * @param tryNumber this request's try, from the URL (0 for the first)
   */
  public static String waitAndRetry(MacAddress mac, String message, int waitSeconds, int tryNumber) {
    StringBuilder s = new StringBuilder("#!ipxe\n");
    s.append("echo cowherd: ").append(printable(mac + ": " + message)).append('\n');
    if (tryNumber + 1 >= MAX_TRIES) {
      s.append("echo cowherd: giving up after ").append(MAX_TRIES).append(" tries, powering off\n");
      s.append("sleep 5\n");
      s.append("poweroff || exit 1\n");
      return bounded(s.toString());
    }
    s.append("echo cowherd: trying again in ").append(waitSeconds).append(" s (try ").append(tryNumber + 1)
        .append(" of ").append(MAX_TRIES).append(")\n");
    s.append("sleep ").append(waitSeconds).append('\n');
    s.append("chain --replace --autofree ").append(retryUri(tryNumber + 1)).append('\n');
    return bounded(s.toString());
  }

  /** The fixed first script: fetch this MAC's script (relative URI, resolved by iPXE against this one's). */
  public static String first() {
    return "#!ipxe\nchain --replace --autofree " + retryUri(0) + "\n";
  }

  /** The body of an error answer (400, 429...): readable by a person and, where iPXE runs it, a script. */
  public static String error(String message) {
    return bounded("#!ipxe\necho cowherd: " + printable(message) + "\nsleep 10\nexit 1\n");
  }

  /** The URI a script fetches itself again with, relative to its own URI (iPXE resolves it). */
  static String retryUri(int tryNumber) {
    return "ipxe?mac=${net0/mac:hexhyp}&try=" + tryNumber; // no colon: see BootEndpoint.colonForm
  }

  /**
   * {@code text} with {@code ;} as {@code ,} (cowherd's messages use it between clauses) and every
   * other character outside printable ASCII, and iPXE's $ # | & ' " \, replaced by {@code ?}.
   */
  public static String printable(String text) {
    StringBuilder out = new StringBuilder(Math.min(text.length(), 512));
    for (int i = 0; i < text.length() && i < 512; i++) {
      char c = text.charAt(i);
      out.append(c == ';' ? ',' : c < 0x20 || c > 0x7e || "$#|&'\"\\".indexOf(c) >= 0 ? '?' : c);
    }
    return out.toString();
  }

  private static String bounded(String script) {
    if (script.getBytes(StandardCharsets.US_ASCII).length > MAX_BYTES) {
      throw new IllegalStateException("boot script longer than " + MAX_BYTES + " bytes");
    }
    return script;
  }
}
