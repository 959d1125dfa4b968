package io.cowherd.aoe.initiator;

/** A monotonic clock in nanoseconds, injectable so tests can run timeouts without waiting. */
@FunctionalInterface
public interface Ticker {

    /** {@link System#nanoTime()}. */
    Ticker SYSTEM = System::nanoTime;

    /** Nanoseconds from an arbitrary origin; only differences mean anything. */
    long nanos();
}
