package io.sessionbuddy.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.sessionbuddy.core.SessionIds;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.format.StoredFormat;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Read-only access to the original Python store's Redis layout, to migrate from it: data at
 * {@code <key_prefix>session:<id>} (gzip-compressed JSON, written with {@code SET ... EX}), index
 * sets {@code <key_prefix>index:user:<user>} and {@code <key_prefix>index:project:<project>}.
 *
 * <p>Retrieve reads the record and its remaining time to live ({@code PTTL}), which becomes
 * {@code expires_at}. Listing uses {@code SCAN} of the data keys, never {@code KEYS}; listing by user
 * or project reads every record's owner, because the original's index sets lose members (they
 * expire with the TTL of their last write). Every write, delete or cleanup fails with a message pointing to
 * {@code session-buddy migrate}.
 */
public final class LegacyRedisSessionStorage extends LegacyRedisReader {
    /** The provider name. */
    public static final String NAME = "legacy-redis";
    /** The original's default key prefix. */
    public static final String DEFAULT_KEY_PREFIX = "session_mgmt:";

    private final String dataPrefix;

    private LegacyRedisSessionStorage(RedisURI uri, RedisClient client, String keyPrefix, Duration defaultTtl,
            Clock clock, StoredFormat format) {
        super(NAME, uri, client, keyPrefix, defaultTtl, clock, format,
                "the original Python store's Redis layout (prefix \"" + keyPrefix + "\")");
        this.dataPrefix = keyPrefix + "session:";
    }

    /**
     * Opens the legacy layout at {@code uri}.
     *
     * @param uri the Redis server
     * @param client a client to use (not shut down by {@link #close()}), or {@code null} for an own one
     * @param keyPrefix the original's {@code key_prefix}, e.g. {@code session_mgmt:}
     * @param defaultTtl the time to live of records without one ({@code null}: the library default)
     * @param clock the clock of expiry checks ({@code null}: UTC system clock)
     * @param format decoding bounds ({@code null}: defaults)
     * @return the storage; {@link #close()} it
     * @throws io.sessionbuddy.core.SessionStorageException when Redis cannot be reached
     */
    public static LegacyRedisSessionStorage open(RedisURI uri, RedisClient client, String keyPrefix,
            Duration defaultTtl, Clock clock, StoredFormat format) {
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(keyPrefix, "keyPrefix");
        return new LegacyRedisSessionStorage(uri, client, keyPrefix, defaultTtl, clock, format);
    }

    @Override
    protected CompletableFuture<Optional<SessionState>> doRetrieve(String sessionId) {
        return readWithTtl(dataPrefix + sessionId, (bytes, location) -> decode(sessionId, bytes, location));
    }

    /**
     * Sessions of a user and/or project, from the data keys themselves: the original's index sets
     * expire with the TTL of their last write and lose members (in a copy of its store, 10 of 20
     * users listed nothing through them), so they are not trusted. Every stored record is read
     * (a {@code SCAN}, then the records in batches) and its owner compared: linear in the store, as
     * the original's file and S3 listings were; damaged records are skipped with a warning.
     */
    @Override
    protected CompletableFuture<List<String>> doList(String userId, String projectId) {
        CompletableFuture<List<String>> valid = doListStoredIds()
                .thenApply(ids -> ids.stream().filter(SessionIds::isValid).toList());
        if (userId == null && projectId == null) {
            return valid;
        }
        return valid.thenCompose(ids -> listByOwner(ids, this::doRetrieve, userId, projectId));
    }

    @Override
    protected CompletableFuture<List<String>> doListStoredIds() {
        return scanPrefix(dataPrefix).thenApply(keys -> keys.stream().map(k -> k.substring(dataPrefix.length()))
                .filter(id -> !id.isEmpty()).sorted().toList()); // invalid ones too: migrate names them
    }
}
