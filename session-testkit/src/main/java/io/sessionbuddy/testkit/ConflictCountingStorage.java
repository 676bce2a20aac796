package io.sessionbuddy.testkit;

import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.ForwardingSessionStorage;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts the compare-and-sets ({@code replaceSession}) that lost; forwards everything. */
public final class ConflictCountingStorage extends ForwardingSessionStorage {
    private final AtomicInteger conflicts;

    /**
     * Counts into {@code conflicts}, which several storages may share.
     *
     * @param delegate the storage calls go to
     * @param conflicts the counter of failed compare-and-sets
     */
    public ConflictCountingStorage(SessionStorage delegate, AtomicInteger conflicts) {
        super(delegate);
        this.conflicts = conflicts;
    }

    @Override
    public CompletableFuture<Boolean> replaceSession(SessionState state, long expectedVersion, Duration ttl) {
        return super.replaceSession(state, expectedVersion, ttl).thenApply(replaced -> {
            if (!replaced) {
                conflicts.incrementAndGet();
            }
            return replaced;
        });
    }
}
