package io.sessionbuddy.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.spi.ReadOnlySessionStorage;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the readers of the original's Redis layouts share: one connection (an own client or a given
 * one), reads of a record with its remaining time to live, {@code SCAN} of the data keys and listing by
 * owner from the records themselves.
 */
abstract class LegacyRedisReader extends ReadOnlySessionStorage {
    private static final Logger LOG = LoggerFactory.getLogger(LegacyRedisReader.class);
    private static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);
    /** Records read at once while listing by owner: bounds the memory a listing holds. */
    private static final int LIST_BATCH = 256;

    private final RedisClient ownedClient;
    private final StatefulRedisConnection<String, byte[]> connection;
    /** The connection's commands. */
    final RedisAsyncCommands<String, byte[]> commands;
    /** {@code host:port}, for messages. */
    final String where;

    /**
     * Connects; {@code client} {@code null} makes an own client, shut down by {@link #close()}.
     *
     * @param layout what is read, for the start-up warning, e.g. {@code the seed's ACB layout}
     */
    LegacyRedisReader(String name, RedisURI uri, RedisClient client, String scope, Duration defaultTtl, Clock clock,
            StoredFormat format, String layout) {
        super(name, defaultTtl == null ? SessionBuddyConfig.DEFAULT_TTL : defaultTtl,
                clock == null ? Clock.systemUTC() : clock, format == null ? StoredFormat.defaults() : format, scope);
        this.where = uri.getHost() + ":" + uri.getPort();
        RedisClient used = client == null ? RedisClient.create() : client;
        this.ownedClient = client == null ? used : null;
        try {
            this.connection = used.connect(CODEC, uri);
        } catch (RuntimeException e) {
            if (ownedClient != null) {
                ownedClient.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            }
            throw new SessionStorageException(name, null, "cannot connect to Redis at " + where + ": "
                    + e.getMessage(), e);
        }
        this.commands = connection.async();
        LOG.warn("[{}] reading {} at {}: it is read-only and deprecated; move its sessions with session-buddy migrate",
                name, layout, where);
    }

    /**
     * Reads {@code key} and its {@code PTTL}; {@code decode} turns the bytes into a session (given the
     * key's description for messages), whose {@code expires_at} becomes the key's expiry when it has one.
     */
    final CompletableFuture<Optional<SessionState>> readWithTtl(String key,
            BiFunction<byte[], String, SessionState> decode) {
        CompletableFuture<byte[]> data = commands.get(key).toCompletableFuture();
        CompletableFuture<Long> ttl = commands.pttl(key).toCompletableFuture();
        return decodeAfter(data.thenCombine(ttl, Reply::new), reply -> {
            if (reply.bytes() == null) {
                return Optional.<SessionState>empty();
            }
            SessionState state = decode.apply(reply.bytes(), "key " + key + " at " + where);
            if (reply.pttl() != null && reply.pttl() > 0) {
                state = state.withExpiresAt(now().plusMillis(reply.pttl()));
            }
            return Optional.of(state);
        });
    }

    @SuppressWarnings("ArrayRecordComponent") // a private carrier of one reply: never compared or hashed
    private record Reply(byte[] bytes, Long pttl) {
    }

    /** The keys that match {@code prefix*} ({@code prefix} taken literally), by {@code SCAN}. */
    final CompletableFuture<java.util.Set<String>> scanPrefix(String prefix) {
        return RedisSessionStorage.scanKeys(commands, prefix.replaceAll("([*?\\[\\]\\\\])", "\\\\$1") + "*");
    }

    /**
     * The ids among {@code ids} whose record {@code read} finds live and owned by {@code userId} and/or
     * {@code projectId}, read {@link #LIST_BATCH} at a time; a record that cannot be read is skipped
     * with a warning that names it.
     */
    final CompletableFuture<List<String>> listByOwner(List<String> ids,
            Function<String, CompletableFuture<Optional<SessionState>>> read, String userId, String projectId) {
        return listBatch(ids, 0, read, state -> !isExpired(state), userId, projectId, new ArrayList<>());
    }

    private CompletableFuture<List<String>> listBatch(List<String> ids, int from,
            Function<String, CompletableFuture<Optional<SessionState>>> read, Predicate<SessionState> live,
            String userId, String projectId, List<String> found) {
        if (from >= ids.size()) {
            return CompletableFuture.completedFuture(found);
        }
        List<String> batch = ids.subList(from, Math.min(ids.size(), from + LIST_BATCH));
        List<CompletableFuture<Optional<SessionState>>> reads = new ArrayList<>();
        for (String id : batch) {
            reads.add(read.apply(id).exceptionally(error -> {
                LOG.warn("[{}] listing skips session {}: {}", backendName(), id, error.getMessage());
                return Optional.empty();
            }));
        }
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenCompose(done -> {
            for (int i = 0; i < batch.size(); i++) {
                Optional<SessionState> state = reads.get(i).join();
                if (state.isPresent() && live.test(state.get())
                        && (userId == null || state.get().userId().equals(userId))
                        && (projectId == null || state.get().projectId().equals(projectId))) {
                    found.add(batch.get(i));
                }
            }
            return listBatch(ids, from + LIST_BATCH, read, live, userId, projectId, found);
        });
    }

    @Override
    protected final CompletableFuture<Boolean> doPing() {
        return commands.ping().toCompletableFuture().thenApply("PONG"::equals);
    }

    @Override
    protected final void doClose() {
        connection.close();
        if (ownedClient != null) {
            ownedClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }
}
