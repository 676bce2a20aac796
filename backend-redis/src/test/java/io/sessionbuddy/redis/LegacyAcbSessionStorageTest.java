package io.sessionbuddy.redis;

import static io.sessionbuddy.redis.RestrictedUnpicklerTest.fixture;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.sessionbuddy.core.CorruptSessionException;
import io.sessionbuddy.spi.SessionBuddy;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.spi.BackendSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@code legacy-acb} reader against a real Redis holding the seed's ACB records exactly as
 * aiocache's {@code PickleSerializer} wrote them (pickles made by Python, see
 * {@code src/test/resources/legacy-acb/make_fixtures.py}), written with {@code SET ... EX}.
 */
class LegacyAcbSessionStorageTest {
    private static RedisTestServer server;
    private static RedisClient client;
    private static StatefulRedisConnection<String, byte[]> connection;
    private static RedisCommands<String, byte[]> redis;

    @BeforeAll
    static void start() {
        server = RedisTestServer.start();
        client = RedisClient.create();
        connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE), server.uri());
        redis = connection.sync();
    }

    @AfterAll
    static void stop() {
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        server.close();
    }

    @BeforeEach
    void seed() {
        LegacyAcbFixtures.seed(redis, 86_400);
    }

    private static LegacyAcbSessionStorage open(String namespace) {
        return LegacyAcbSessionStorage.open(server.uri(), client, namespace, null, null, null);
    }

    private static Throwable failure(Runnable call) {
        try {
            call.run();
        } catch (CompletionException e) {
            return e.getCause();
        }
        throw new AssertionError("no failure");
    }

    @Test
    void readsEverySessionWithItsKeysTtlAndNeverTakesTheIndexOrHealthCheckForOne() {
        try (LegacyAcbSessionStorage acb = open("session")) {
            assertThat(acb.listStoredSessionIds().join()).containsExactly("acb-002", "acb-003", "acb-004", "acb-005");
            assertThat(acb.listSessions(null, null).join()).containsExactly("acb-002", "acb-003", "acb-004", "acb-005");
            SessionState state = acb.retrieveSession("acb-003").join().orElseThrow();
            assertThat(state.userId()).isEqualTo("user-0");
            assertThat(state.projectId()).isEqualTo("project-1");
            assertThat(state.createdAt()).isEqualTo(Instant.parse("2026-03-01T14:08:09.123456Z"));
            assertThat(state.permissions()).containsExactly("read", "write");
            assertThat(state.expiresAt()).isBetween(Instant.now().plusSeconds(86_300), Instant.now().plusSeconds(86_401));
            assertThat(acb.retrieveSession("index").join()).isEmpty();
            assertThat(acb.retrieveSession("missing").join()).isEmpty();
        }
    }

    @Test
    void listsByOwnerThroughTheIndexAndReadsWhatTheIndexLost() {
        redis.set("session:index", fixture("index-partial-protocol5.pickle")); // lost acb-004, acb-005; names acb-999
        try (LegacyAcbSessionStorage acb = open("session")) {
            // user-1 owns acb-004 only (4 % 3); the index no longer names it, so the record is read
            assertThat(acb.listSessions("user-1", null).join()).containsExactly("acb-004");
            assertThat(acb.listSessions("user-0", null).join()).containsExactly("acb-003");
            assertThat(acb.listSessions(null, "project-0").join()).containsExactly("acb-002", "acb-004");
            assertThat(acb.listSessions("user-0", "project-1").join()).containsExactly("acb-003");
        }
        redis.del("session:index");
        try (LegacyAcbSessionStorage acb = open("session")) {
            assertThat(acb.listSessions(null, "project-1").join()).containsExactly("acb-003", "acb-005");
        }
    }

    @Test
    void refusedAndLaterFormatRecordsAreReportedByKeyAndNothingRuns() throws Exception {
        Path marker = Path.of("/tmp/session-buddy-pickle-ran");
        Files.deleteIfExists(marker);
        redis.set("session:acb-evil", fixture("refused-reduce.pickle"));
        redis.set("session:acb-004", fixture("later-signed-pickle.bin"));
        redis.set("session:acb-005", fixture("later-msgpack.bin"));
        redis.set("session:acb-bomb", fixture("refused-expansion.pickle"));
        try (LegacyAcbSessionStorage acb = open("session")) {
            assertThat(failure(() -> acb.retrieveSession("acb-evil").join()))
                    .isInstanceOf(CorruptSessionException.class).hasMessageContaining("key session:acb-evil")
                    .hasMessageContaining("STACK_GLOBAL").hasMessageContaining("refused");
            assertThat(marker).doesNotExist();
            assertThat(failure(() -> acb.retrieveSession("acb-004").join()))
                    .isInstanceOf(CorruptSessionException.class).hasMessageContaining("key session:acb-004")
                    .hasMessageContaining("signed pickle").hasMessageContaining("later release of the ACB library");
            assertThat(failure(() -> acb.retrieveSession("acb-005").join()))
                    .hasMessageContaining("key session:acb-005").hasMessageContaining("msgpack");
            Throwable bomb = failure(() -> acb.retrieveSession("acb-bomb").join());
            assertThat(bomb).hasMessageContaining("key session:acb-bomb").hasMessageContaining("max_decoded_bytes")
                    .isInstanceOf(CorruptSessionException.class);
            assertThat(((CorruptSessionException) bomb).reason()).isEqualTo(CorruptSessionException.Reason.TOO_LARGE);
            // the readable ones are still read
            assertThat(acb.retrieveSession("acb-002").join()).isPresent();
        }
    }

    @Test
    void isReadOnlyAndKeepsToItsNamespace() {
        redis.rename("session:acb-002", "other:acb-002");
        try (LegacyAcbSessionStorage acb = open("other")) {
            assertThat(acb.listStoredSessionIds().join()).containsExactly("acb-002");
            SessionState state = acb.retrieveSession("acb-002").join().orElseThrow();
            assertThat(failure(() -> acb.storeSession(state, null).join())).isInstanceOf(SessionStorageException.class)
                    .hasMessageContaining("read-only").hasMessageContaining("session-buddy migrate");
            assertThat(failure(() -> acb.deleteSession("acb-002").join())).hasMessageContaining("read-only");
        }
        assertThat(redis.exists("other:acb-002")).isEqualTo(1L);
    }

    @Test
    void opensFromTheOriginalsAcbBlockAsIs() {
        SessionBuddyConfig config = new ConfigLoader(Map.of(), Map.of()).parse("""
                { "storage_backend": "legacy-acb",
                  "backends": { "acb": { "cache_type": "redis", "host": "127.0.0.1", "port": %d,
                                         "namespace": "session", "ttl_seconds": 3600 } } }
                """.formatted(server.port()), "seed.json");
        try (SessionBuddy buddy = SessionBuddy.open(config)) {
            assertThat(buddy.storage().listStoredSessionIds().join()).hasSize(4);
            assertThat(buddy.manager().getSession("acb-005").join()).isPresent();
        }
        assertThatThrownBy(() -> new LegacyAcbStorageProvider().create(BackendSettings.of("legacy-acb",
                Map.of("cache_type", "memory")))).isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("cache_type").hasMessageContaining("nothing to migrate");
    }
}
