package io.sessionbuddy.testkit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/** A thread-safe clock that tests move forward by hand instead of sleeping. */
public final class MutableClock extends Clock {
    private final AtomicReference<Instant> now;

    /**
     * A clock standing at {@code start}.
     *
     * @param start the clock's first time
     */
    public MutableClock(Instant start) {
        now = new AtomicReference<>(start);
    }

    /**
     * A clock standing at the current time.
     *
     * @return a clock standing at the current time
     */
    public static MutableClock ofNow() {
        return new MutableClock(Instant.now());
    }

    /**
     * Moves the clock forward.
     *
     * @param amount how far
     */
    public void advance(Duration amount) {
        now.updateAndGet(current -> current.plus(amount));
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    @Override
    public Instant instant() {
        return now.get();
    }
}
