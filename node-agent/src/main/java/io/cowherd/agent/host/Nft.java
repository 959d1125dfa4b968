package io.cowherd.agent.host;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * nft(8), the nftables front end, for tables of family {@code netdev}: reads a table with {@code
 * nft -j list table netdev <name>} (JSON, schema 1 as nftables 1.0.6 prints it), loads a ruleset
 * file atomically with {@code nft -f <file>} (one transaction: all of it or nothing) and deletes a
 * table. Every call is an argument vector with a timeout; a ruleset goes through a file, never a
 * shell.
 */
public final class Nft {
  /** Every nft call is killed after this long. */
  public static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final CommandRunner runner;
  private final String program;

  /** @param program the nft executable (name looked up in PATH, or a path) */
  public Nft(CommandRunner runner, String program) {
    this.runner = runner;
    this.program = program;
  }

  /**
   * One netdev table as nft lists it.
   *
   * @param name table name
   * @param chains chain name → its hook ({@code ingress}), empty string for a chain without one
   *     (nftables 1.0.6 leaves a netdev chain's device out of its JSON)
   * @param ruleCounters rule comment → packets counted by the rule's counter (rules without a
   *     comment or counter are left out)
   * @param setElements set name → its elements as printed (MACs as {@code aa:bb:cc:dd:ee:ff})
   */
  public record NetdevTable(String name, Map<String, String> chains, Map<String, Long> ruleCounters,
      Map<String, List<String>> setElements) {
    public NetdevTable {
      chains = Map.copyOf(chains);
      ruleCounters = Map.copyOf(ruleCounters);
      setElements = Map.copyOf(setElements);
    }
  }

  /**
   * The netdev table {@code name}, or empty if it does not exist.
   *
   * @throws CommandFailedException if nft fails otherwise (e.g. no nf_tables in the kernel)
   * @throws CommandTimedOutException if nft hangs
   */
  public Optional<NetdevTable> listNetdevTable(String name) {
    CommandResult result;
    try {
      result = runner.run(HostCommand.of(program, "-j", "list", "table", "netdev", name).withTimeout(TIMEOUT));
    } catch (CommandFailedException e) {
      if (isNotFound(e)) {
        return Optional.empty();
      }
      throw e;
    }
    return Optional.of(parseNetdevTable(name, result.stdout()));
  }

  /**
   * Loads {@code ruleset} (nft syntax) in one transaction through a temporary file, removed after.
   *
   * @throws CommandFailedException if nft refuses it (nothing of it is applied)
   * @throws UncheckedIOException if the temporary file cannot be written
   */
  public void load(String ruleset) {
    Path file;
    try {
      file = Files.createTempFile("cowherd-nft-", ".nft");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write an nft ruleset file: " + e.getMessage(), e);
    }
    try {
      Files.writeString(file, ruleset, StandardCharsets.UTF_8);
      runner.run(HostCommand.of(program, "-f", file.toString()).withTimeout(TIMEOUT));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    } finally {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        // a leftover temp file holds no state; nothing reads it again
      }
    }
  }

  /**
   * Deletes netdev table {@code name}; a table that does not exist is not an error.
   *
   * @throws CommandFailedException if nft fails otherwise
   */
  public void deleteNetdevTable(String name) {
    try {
      runner.run(HostCommand.of(program, "delete", "table", "netdev", name).withTimeout(TIMEOUT));
    } catch (CommandFailedException e) {
      if (!isNotFound(e)) {
        throw e;
      }
    }
  }

  /** Whether nft failed because the object does not exist (ENOENT, as nft prints it). */
  public static boolean isNotFound(CommandFailedException e) {
    return e.stderr().contains("No such file or directory");
  }

  /** Parses {@code nft -j list table} output. Pure. */
  static NetdevTable parseNetdevTable(String name, String json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException("nft printed no JSON: " + e.getMessage(), e);
    }
    Map<String, String> chains = new LinkedHashMap<>();
    Map<String, Long> counters = new LinkedHashMap<>();
    Map<String, List<String>> sets = new LinkedHashMap<>();
    for (JsonNode item : root.path("nftables")) {
      if (item.has("chain")) {
        JsonNode c = item.get("chain");
        chains.put(c.path("name").asText(), c.path("hook").asText(""));
      } else if (item.has("set")) {
        JsonNode s = item.get("set");
        List<String> elements = new ArrayList<>();
        for (JsonNode e : s.path("elem")) {
          // {"elem": {"val": "aa:..", "expires": 3599}} with a timeout, a plain string without
          elements.add(e.has("elem") ? e.get("elem").path("val").asText() : e.asText());
        }
        sets.put(s.path("name").asText(), elements);
      } else if (item.has("rule")) {
        JsonNode r = item.get("rule");
        if (!r.has("comment")) {
          continue;
        }
        for (JsonNode e : r.path("expr")) {
          if (e.has("counter")) {
            counters.put(r.get("comment").asText(), e.get("counter").path("packets").asLong());
          }
        }
      }
    }
    return new NetdevTable(name, chains, counters, sets);
  }
}
