package io.sessionbuddy.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionIds;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.spi.ReadOnlySessionStorage;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
public final class LegacyRedisSessionStorage extends ReadOnlySessionStorage {
    /** The provider name. */
    public static final String NAME = "legacy-redis";
    /** The original's default key prefix. */
    public static final String DEFAULT_KEY_PREFIX = "session_mgmt:";

    private static final Logger LOG = LoggerFactory.getLogger(LegacyRedisSessionStorage.class);
    private static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);

    private final RedisClient ownedClient;
    private final StatefulRedisConnection<String, byte[]> connection;
    private final RedisAsyncCommands<String, byte[]> commands;
    private final String prefix;
    private final String where;

    private LegacyRedisSessionStorage(RedisURI uri, RedisClient client, boolean owned, String keyPrefix,
            Duration defaultTtl, Clock clock, StoredFormat format) {
        super(NAME, defaultTtl, clock, format, keyPrefix);
        this.prefix = keyPrefix;
        this.where = uri.getHost() + ":" + uri.getPort();
        this.ownedClient = owned ? client : null;
        try {
            this.connection = client.connect(CODEC, uri);
        } catch (RuntimeException e) {
            if (owned) {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            }
            throw new SessionStorageException(NAME, null, "cannot connect to Redis at " + where + ": "
                    + e.getMessage(), e);
        }
        this.commands = connection.async();
        LOG.warn("[{}] reading the original Python store's Redis layout (prefix \"{}\") at {}: it is read-only and"
                + " deprecated; move its sessions with session-buddy migrate", NAME, keyPrefix, where);
    }

    /**
     * Opens the legacy layout at {@code uri}.
     *
     * @param client a client to use (not shut down by {@link #close()}), or {@code null} for an own one
     * @param keyPrefix the original's {@code key_prefix}, e.g. {@code session_mgmt:}
     */
    public static LegacyRedisSessionStorage open(RedisURI uri, RedisClient client, String keyPrefix,
            Duration defaultTtl, Clock clock, StoredFormat format) {
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(keyPrefix, "keyPrefix");
        boolean owned = client == null;
        return new LegacyRedisSessionStorage(uri, owned ? RedisClient.create() : client, owned, keyPrefix,
                defaultTtl == null ? SessionBuddyConfig.DEFAULT_TTL : defaultTtl,
                clock == null ? Clock.systemUTC() : clock, format == null ? StoredFormat.defaults() : format);
    }

    private String dataKey(String id) {
        return prefix + "session:" + id;
    }

    @Override
    protected CompletableFuture<Optional<SessionState>> doRetrieve(String sessionId) {
        String key = dataKey(sessionId);
        CompletableFuture<byte[]> data = commands.get(key).toCompletableFuture();
        CompletableFuture<Long> ttl = commands.pttl(key).toCompletableFuture();
        return data.thenCombine(ttl, (bytes, pttl) -> {
            if (bytes == null) {
                return Optional.<SessionState>empty();
            }
            SessionState state = decode(sessionId, bytes, "key " + key + " at " + where);
            if (pttl != null && pttl > 0) {
                state = state.withExpiresAt(now().plusMillis(pttl));
            }
            return Optional.of(state);
        });
    }

    /** Records read at once while listing by owner: bounds the memory a listing holds. */
    private static final int LIST_BATCH = 256;

    /**
     * Sessions of a user and/or project, from the data keys themselves: the original's index sets
     * expire with the TTL of their last write and lose members (in a copy of its store, 10 of 20
     * users listed nothing through them), so they are not trusted. Every stored record is read
     * (a {@code SCAN}, then the records in batches) and its owner compared: linear in the store, as
     * the original's file and S3 listings were; damaged records are skipped with a warning.
     */
    @Override
    protected CompletableFuture<List<String>> doList(String userId, String projectId) {
        if (userId == null && projectId == null) {
            return doListStoredIds().thenApply(ids -> ids.stream().filter(SessionIds::isValid).toList());
        }
        return doListStoredIds().thenCompose(ids -> listBatch(ids.stream().filter(SessionIds::isValid).toList(), 0,
                userId, projectId, new ArrayList<>()));
    }

    private CompletableFuture<List<String>> listBatch(List<String> ids, int from, String userId, String projectId,
            List<String> live) {
        if (from >= ids.size()) {
            return CompletableFuture.completedFuture(live);
        }
        List<String> batch = ids.subList(from, Math.min(ids.size(), from + LIST_BATCH));
        List<CompletableFuture<Optional<SessionState>>> reads = new ArrayList<>();
        for (String id : batch) {
            reads.add(doRetrieve(id).exceptionally(error -> {
                LOG.warn("[{}] listing skips session {}: {}", NAME, id, error.getMessage());
                return Optional.empty();
            }));
        }
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenCompose(done -> {
            for (int i = 0; i < batch.size(); i++) {
                Optional<SessionState> state = reads.get(i).join();
                if (state.isPresent() && !isExpired(state.get())
                        && (userId == null || state.get().userId().equals(userId))
                        && (projectId == null || state.get().projectId().equals(projectId))) {
                    live.add(batch.get(i));
                }
            }
            return listBatch(ids, from + LIST_BATCH, userId, projectId, live);
        });
    }

    @Override
    protected CompletableFuture<List<String>> doListStoredIds() {
        return RedisSessionStorage.scanKeys(commands, escapeGlob(prefix) + "session:*")
                .thenApply(keys -> keys.stream().map(k -> k.substring(prefix.length() + "session:".length()))
                        .filter(id -> !id.isEmpty()).sorted().toList()); // invalid ones too: migrate names them
    }

    private static String escapeGlob(String text) {
        return text.replaceAll("([*?\\[\\]\\\\])", "\\\\$1");
    }

    @Override
    protected CompletableFuture<Boolean> doPing() {
        return commands.ping().toCompletableFuture().thenApply("PONG"::equals);
    }

    @Override
    protected void doClose() {
        connection.close();
        if (ownedClient != null) {
            ownedClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }
}
