package io.sessionbuddy.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.testkit.RawRecords;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.testkit.BytesSessionStorageContract;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The contract against a real standalone redis-server; each test gets its own namespace. */
class RedisSessionStorageTest extends BytesSessionStorageContract {
    private static final AtomicInteger NAMESPACES = new AtomicInteger();
    private static RedisTestServer server;
    private static RedisClient client;
    private static StatefulRedisConnection<byte[], byte[]> raw;
    private String namespace;

    @BeforeAll
    static void startServer() {
        server = RedisTestServer.start();
        client = RedisClient.create();
        raw = client.connect(ByteArrayCodec.INSTANCE, server.uri());
    }

    @AfterAll
    static void stopServer() {
        raw.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        server.close();
    }

    @Override
    protected SessionStorage createStorage(Clock clock, StoredFormat format) {
        namespace = "contract" + NAMESPACES.incrementAndGet();
        return reopenStorage(clock, format);
    }

    @Override
    protected SessionStorage reopenStorage(Clock clock, StoredFormat format) {
        return RedisSessionStorage.builder().client(client).uri(server.uri())
                .namespace(namespace).clock(clock).storedFormat(format).build();
    }

    /** The server of this class's tests. */
    static RedisTestServer server() {
        return server;
    }

    /** The client of this class's storages. */
    static RedisClient nearCacheClient() {
        return client;
    }

    /** The namespace of the running test. */
    String currentNamespace() {
        return namespace;
    }

    @Override
    protected RawRecords rawRecords() {
        return new RedisRawRecords(raw.sync(), namespace);
    }

    @Override
    protected boolean serverOwnsTime() {
        return true;
    }

    @org.junit.jupiter.api.Test
    void aMoveIsOneScriptThatWritesNothingWhenTheOldRecordChanged() throws Exception {
        io.sessionbuddy.core.SessionState old = session(id(), "mover", "p");
        await(storage.storeSession(old, Duration.ofHours(1)));
        io.sessionbuddy.core.SessionState copy = old.toBuilder().sessionId(id()).build();
        io.sessionbuddy.core.SessionState marker = io.sessionbuddy.core.SessionState.builder(old.sessionId(),
                io.sessionbuddy.core.SessionManager.ROTATED_OWNER, io.sessionbuddy.core.SessionManager.ROTATED_OWNER)
                .version(old.version() + 1).build();
        byte[] newKey = (namespace + ":{" + copy.sessionId() + "}").getBytes(java.nio.charset.StandardCharsets.UTF_8);

        org.assertj.core.api.Assertions.assertThat(await(storage.moveSession(copy, Duration.ofHours(1), marker,
                old.version() + 7, Duration.ofMinutes(1)))).isFalse();
        org.assertj.core.api.Assertions.assertThat(raw.sync().exists(newKey)).isZero();

        long scriptsBefore = scriptCalls();
        org.assertj.core.api.Assertions.assertThat(await(storage.moveSession(copy, Duration.ofHours(1), marker,
                old.version(), Duration.ofMinutes(1)))).isTrue();
        org.assertj.core.api.Assertions.assertThat(scriptCalls() - scriptsBefore).as("one script, one round trip")
                .isOne();
        org.assertj.core.api.Assertions.assertThat(raw.sync().exists(newKey)).isOne();
        org.assertj.core.api.Assertions.assertThat(await(storage.listSessions("mover", null)))
                .containsExactly(copy.sessionId());
        org.assertj.core.api.Assertions.assertThat(stored(old.sessionId()).userId())
                .isEqualTo(io.sessionbuddy.core.SessionManager.ROTATED_OWNER);
        org.assertj.core.api.Assertions.assertThat(raw.sync().pttl((namespace + ":{" + old.sessionId() + "}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8))).isBetween(1L, Duration.ofMinutes(1).toMillis());
    }

    /** EVALSHA and EVAL calls the server has run so far ({@code INFO commandstats}). */
    private static long scriptCalls() {
        long calls = 0;
        for (String line : raw.sync().info("commandstats").split("\\r?\\n")) {
            if (line.startsWith("cmdstat_evalsha:") || line.startsWith("cmdstat_eval:")) {
                String field = line.substring(line.indexOf("calls=") + 6);
                calls += Long.parseLong(field.substring(0, field.indexOf(',')));
            }
        }
        return calls;
    }

    @org.junit.jupiter.api.Test
    void aTouchNeitherReadsNorDecodesTheRecord() throws Exception {
        io.sessionbuddy.core.SessionState state = largeSession(id(), "u", "p");
        await(storage.storeSession(state, Duration.ofHours(1)));
        rawRecords().write(state.sessionId(), "not a record".getBytes(java.nio.charset.StandardCharsets.US_ASCII));

        org.assertj.core.api.Assertions.assertThat(await(storage.touchSession(state.sessionId(), Duration.ofHours(3))))
                .isTrue();

        long pttl = raw.sync().pttl((namespace + ":{" + state.sessionId() + "}").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        org.assertj.core.api.Assertions.assertThat(pttl).isBetween(Duration.ofHours(3).minusMinutes(1).toMillis(),
                Duration.ofHours(3).toMillis());
    }

    @org.junit.jupiter.api.Test
    void anOlderRecordPutBackInPlaceOfANewerOneIsRefused() throws Exception {
        assertAnOlderRecordPutBackIsRefused();
    }
}
