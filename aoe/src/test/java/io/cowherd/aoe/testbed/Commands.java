package io.cowherd.aoe.testbed;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs external commands as argument vectors with a timeout (no shell). Test support only. */
public final class Commands {

    /** What a finished command did. */
    public record Result(List<String> argv, int exitCode, String stdout, String stderr) {}

    /** A command exited non-zero or timed out. */
    public static final class CommandFailedException extends IOException {
        private static final long serialVersionUID = 1L;

        CommandFailedException(String message) {
            super(message);
        }
    }

    private Commands() {}

    /**
     * Runs {@code argv} and waits up to {@code timeout}.
     *
     * @throws CommandFailedException if it exits non-zero or times out (then it is killed)
     */
    public static Result run(Duration timeout, String... argv) throws IOException {
        Result result = runAllowingFailure(timeout, argv);
        if (result.exitCode() != 0) {
            throw new CommandFailedException(String.join(" ", argv) + " exited " + result.exitCode() + ": "
                    + result.stderr().strip());
        }
        return result;
    }

    /** Runs {@code argv}, waits up to {@code timeout}, returns whatever exit code it had. */
    public static Result runAllowingFailure(Duration timeout, String... argv) throws IOException {
        Path out = Files.createTempFile("cwt-cmd", ".out");
        Path err = Files.createTempFile("cwt-cmd", ".err");
        try {
            Process process = new ProcessBuilder(argv)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            boolean exited;
            try {
                exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
                throw new CommandFailedException(String.join(" ", argv) + " interrupted");
            }
            if (!exited) {
                process.destroyForcibly();
                throw new CommandFailedException(String.join(" ", argv) + " timed out after " + timeout);
            }
            return new Result(List.of(argv), process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
