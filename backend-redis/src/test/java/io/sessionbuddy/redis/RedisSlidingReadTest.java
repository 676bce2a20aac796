package io.sessionbuddy.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.sessionbuddy.core.CorruptSessionException;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionObserver;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.format.StoredFormat;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sliding expiration on standalone Redis ({@code refresh_ttl_on_read}): the touch and the read of
 * a {@code getSession} are one script on the server, which moves what a touch moves (key expiry,
 * touched-expiry field, index scores), is observed as a touch and a read, and moves nothing when it
 * refuses a record.
 */
class RedisSlidingReadTest {
    private static final AtomicInteger NAMESPACES = new AtomicInteger();
    private static RedisTestServer server;
    private static RedisClient rawClient;
    private static StatefulRedisConnection<String, String> raw;

    @BeforeAll
    static void startServer() {
        server = RedisTestServer.start();
        rawClient = RedisClient.create(server.uri());
        raw = rawClient.connect();
    }

    @AfterAll
    static void stopServer() {
        raw.close();
        rawClient.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        server.close();
    }

    private static String namespace() {
        return "sliding" + NAMESPACES.incrementAndGet();
    }

    private static SessionManager sliding(RedisSessionStorage storage) {
        return new SessionManager(storage, SessionBuddyConfig.defaults().withRefreshTtlOnRead(true), Clock.systemUTC());
    }

    @Test
    void aSlidingReadIsOneScriptThatMovesWhatATouchMoves() {
        String namespace = namespace();
        try (RedisSessionStorage storage = RedisSessionStorage.builder().uri(server.uri()).namespace(namespace).build()) {
            SessionManager manager = sliding(storage);
            String id = manager.createSession("slide-user", "slide-project", Map.of("n", 1), Duration.ofMinutes(5)).join();
            RedisCommands<String, String> commands = raw.sync();
            String key = namespace + ":{" + id + "}";
            assertThat(commands.pttl(key)).isLessThanOrEqualTo(Duration.ofMinutes(5).toMillis());
            commands.configResetstat();

            SessionState read = manager.getSession(id).join().orElseThrow();

            Map<String, Long> calls = RedisTestServer.commandCalls(commands);
            // one command from the client: the touch and the read in one script
            assertThat(calls.get("evalsha")).isEqualTo(1L);
            assertThat(calls).doesNotContainKeys("eval", "get", "hgetall");
            Instant expected = Instant.now().plus(SessionBuddyConfig.DEFAULT_TTL);
            assertThat(read.expiresAt()).isCloseTo(expected, within(Duration.ofSeconds(5)));
            long at = read.expiresAt().toEpochMilli();
            assertThat(commands.pttl(key)).isGreaterThan(Duration.ofMinutes(5).toMillis());
            assertThat(commands.hget(key, "e")).isEqualTo(read.version() + ":" + at);
            assertThat(commands.zscore(namespace + ":idx:user:slide-user", id)).isEqualTo((double) at);
            assertThat(commands.zscore(namespace + ":idx:project:slide-project", id)).isEqualTo((double) at);
            // a plain read afterwards sees the same expiry
            assertThat(storage.retrieveSession(id).join().orElseThrow().expiresAt()).isEqualTo(read.expiresAt());
        }
    }

    @Test
    void aSlidingReadIsObservedAsATouchAndARead() {
        String namespace = namespace();
        try (RedisSessionStorage storage = RedisSessionStorage.builder().uri(server.uri()).namespace(namespace).build()) {
            List<String> seen = Collections.synchronizedList(new ArrayList<>());
            storage.addObserver(new SessionObserver() {
                @Override
                public Timing start(String backend, Operation operation) {
                    return (outcome, error) -> seen.add(operation + " " + outcome);
                }
            });
            SessionManager manager = sliding(storage);
            String id = manager.createSession("u", "p", Map.of(), null).join();
            seen.clear();

            assertThat(manager.getSession(id).join()).isPresent();
            assertThat(manager.getSession("no-such-session").join()).isEmpty();

            assertThat(seen).containsExactlyInAnyOrder("TOUCH SUCCESS", "RETRIEVE SUCCESS", "TOUCH NOT_FOUND",
                    "RETRIEVE NOT_FOUND");
        }
    }

    @Test
    void aRefusedRecordOrARotationsMarkerMovesNothing() {
        String namespace = namespace();
        StoredFormat defaults = StoredFormat.defaults();
        RedisSessionStorage small = RedisSessionStorage.builder().uri(server.uri()).namespace(namespace)
                .storedFormat(new StoredFormat(defaults.compression(), defaults.compressionThresholdBytes(), 4_096,
                        4_096, defaults.keyRing(), defaults.encryptionRequired(), defaults.writeVersion()))
                .build();
        byte[] noise = new byte[30_000];
        new java.util.Random(7).nextBytes(noise);
        try (RedisSessionStorage storage = RedisSessionStorage.builder().uri(server.uri()).namespace(namespace).build();
                small) {
            SessionManager manager = sliding(storage);
            String id = manager.createSession("u", "p", Map.of("big", java.util.HexFormat.of().formatHex(noise)), Duration.ofMinutes(5))
                    .join();
            RedisCommands<String, String> commands = raw.sync();
            String key = namespace + ":{" + id + "}";
            long ttlBefore = commands.pttl(key);
            Double scoreBefore = commands.zscore(namespace + ":idx:user:u", id);

            // a storage whose bound the stored record is over refuses it before moving anything
            assertThatThrownBy(() -> sliding(small).getSession(id).join()).isInstanceOf(CompletionException.class)
                    .cause().isInstanceOf(CorruptSessionException.class);
            assertThat(commands.pttl(key)).isLessThanOrEqualTo(ttlBefore);
            assertThat(commands.hget(key, "e")).isNullOrEmpty();
            assertThat(commands.zscore(namespace + ":idx:user:u", id)).isEqualTo(scoreBefore);

            // the old id of a rotated session: read as absent, the marker's life not extended
            String moved = manager.rotateSessionId(id).join().orElseThrow();
            long markerTtl = commands.pttl(key);
            assertThat(manager.getSession(id).join()).isEmpty();
            assertThat(commands.pttl(key)).isLessThanOrEqualTo(markerTtl);
            assertThat(manager.getSession(moved).join()).isPresent();
        }
    }
}
