package io.cowherd.agent.host;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Records every command and answers from a script: rules match on an argv prefix; {@code once}
 * rules are used first and only once. An unscripted command fails the test.
 */
public final class FakeCommandRunner implements CommandRunner {
  private record Rule(List<String> prefix, int exitCode, String stdout, String stderr, boolean once) {}

  private final List<HostCommand> commands = new ArrayList<>();
  private final List<Rule> rules = new ArrayList<>();

  /** Every later command starting with {@code prefix} succeeds printing {@code stdout}. */
  public FakeCommandRunner on(List<String> prefix, String stdout) {
    rules.add(new Rule(prefix, 0, stdout, "", false));
    return this;
  }

  /** The next command starting with {@code prefix} succeeds printing {@code stdout}. */
  public FakeCommandRunner once(List<String> prefix, String stdout) {
    rules.add(new Rule(prefix, 0, stdout, "", true));
    return this;
  }

  /** Every later command starting with {@code prefix} exits {@code exitCode} printing {@code stderr}. */
  public FakeCommandRunner fail(List<String> prefix, int exitCode, String stderr) {
    rules.add(new Rule(prefix, exitCode, "", stderr, false));
    return this;
  }

  /** The next command starting with {@code prefix} exits {@code exitCode} printing {@code stderr}. */
  public FakeCommandRunner failOnce(List<String> prefix, int exitCode, String stderr) {
    rules.add(new Rule(prefix, exitCode, "", stderr, true));
    return this;
  }

  /** argv of every command run so far, in order. */
  public List<List<String>> argvs() {
    return commands.stream().map(HostCommand::argv).toList();
  }

  /** argv of commands run so far that are not read-only queries ({@code losetup --json}, {@code dmsetup info|status|table}). */
  public List<List<String>> changes() {
    return argvs().stream().filter(a -> !isQuery(a)).toList();
  }

  private static boolean isQuery(List<String> a) {
    return (a.get(0).equals("losetup") && a.contains("--json"))
        || (a.get(0).equals("dmsetup") && List.of("info", "status", "table").contains(a.get(1)))
        || a.get(0).equals("filefrag");
  }

  @Override
  public CommandResult run(HostCommand command) {
    commands.add(command);
    Rule rule = find(command.argv(), true);
    if (rule == null) {
      rule = find(command.argv(), false);
    }
    if (rule == null) {
      throw new AssertionError("unscripted command: " + command);
    }
    if (rule.exitCode() != 0) {
      throw new CommandFailedException(command, rule.exitCode(), rule.stderr(), Duration.ofMillis(1));
    }
    return new CommandResult(command, 0, rule.stdout(), "", Duration.ofMillis(1));
  }

  private Rule find(List<String> argv, boolean once) {
    for (Iterator<Rule> it = rules.iterator(); it.hasNext(); ) {
      Rule r = it.next();
      if (r.once() == once && argv.size() >= r.prefix().size() && argv.subList(0, r.prefix().size()).equals(r.prefix())) {
        if (once) {
          it.remove();
        }
        return r;
      }
    }
    return null;
  }
}
