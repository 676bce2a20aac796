package io.sessionbuddy.spi;

import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.core.format.StoredFormat;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A storage that only reads: every store, replace, delete and cleanup fails with a
 * {@link SessionStorageException} that says why and points to {@code session-buddy migrate}. The
 * base of the readers of the original Python store's layouts ({@code legacy-redis},
 * {@code legacy-s3}, {@code legacy-file}).
 */
public abstract class ReadOnlySessionStorage extends AbstractSessionStorage {
    /**
     * @param backendName the provider name, used in every error
     * @param defaultTtl the time to live of records that carry no expiry of their own
     * @param clock the clock used for expiry checks
     * @param format the stored format (decoding bounds)
     * @param scope the namespace of the records, see {@link AbstractSessionStorage}
     */
    protected ReadOnlySessionStorage(String backendName, Duration defaultTtl, Clock clock, StoredFormat format,
            String scope) {
        // the original store never encrypted: its records are read whatever encryption_required says
        super(backendName, defaultTtl, clock, format.withEncryptionRequired(false), true, scope);
    }

    private volatile java.time.ZoneId sourceZone = java.time.ZoneOffset.UTC;

    /**
     * Sets the zone of the timestamps the original wrote without one (its {@code datetime.now()} up to
     * v0.20.0: the writing host's local time); default UTC. Timestamps with a zone or offset keep theirs.
     *
     * @param zone the zone the original's host ran in
     * @return this storage
     */
    public ReadOnlySessionStorage sourceTimezone(java.time.ZoneId zone) {
        sourceZone = java.util.Objects.requireNonNull(zone, "zone");
        return this;
    }

    /**
     * The original's {@code json.dumps} wrote {@code NaN} and {@code Infinity}: read as {@code null}.
     *
     * @return the original's {@code json.dumps} wrote {@code NaN} and {@code Infinity}: read as {@code null}
     */
    @Override
    protected final boolean readsOriginalNumbers() {
        return true;
    }

    /**
     * The zone set with {@link #sourceTimezone}.
     *
     * @return the zone set with {@link #sourceTimezone}
     */
    @Override
    protected final java.time.ZoneId naiveTimestampZone() {
        return sourceZone;
    }

    private <T> CompletableFuture<T> readOnly(String operation) {
        return CompletableFuture.failedFuture(new SessionStorageException(backendName(), null, "cannot " + operation
                + ": the original Python store's layout is read-only here; move its sessions with"
                + " `session-buddy migrate --from <this config> --to <a config of a new store>`"));
    }

    @Override
    protected final CompletableFuture<Void> doStore(SessionState state, byte[] record, Duration ttl) {
        return readOnly("store session " + state.sessionId());
    }

    @Override
    protected final CompletableFuture<Boolean> doReplace(SessionState state, byte[] record, long expectedVersion,
            Duration ttl) {
        return readOnly("replace session " + state.sessionId());
    }

    @Override
    protected final CompletableFuture<Boolean> doDelete(String sessionId) {
        return readOnly("delete session " + sessionId);
    }

    @Override
    protected final CompletableFuture<Integer> doCleanup() {
        return readOnly("clean up");
    }
}
