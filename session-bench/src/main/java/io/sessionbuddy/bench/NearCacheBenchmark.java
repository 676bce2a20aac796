package io.sessionbuddy.bench;

import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.redis.RedisSessionStorage;
import io.sessionbuddy.redis.RedisTestServer;
import java.time.Duration;
import java.util.Optional;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The Redis near cache (issue #18): {@code getSession} through a manager on a storage with the
 * near cache ({@code cached}), the same without it ({@code uncached}), and a raw Lettuce
 * {@code GET} of the same record ({@code raw}), one thread, on a real local redis-server.
 */
@State(Scope.Benchmark)
public class NearCacheBenchmark {
    private static final Duration TTL = Duration.ofHours(24);

    /** Session JSON size in bytes. */
    @Param({"1024", "16384"})
    public int size;

    private RedisClient client;
    private RedisSessionStorage plain;
    private RedisSessionStorage near;
    private SessionManager plainManager;
    private SessionManager nearManager;
    private StatefulRedisConnection<String, byte[]> connection;
    private RedisCommands<String, byte[]> raw;

    @Setup
    public void setUp() {
        RedisTestServer server = BenchServers.redis();
        client = RedisClient.create();
        String namespace = "nearbench" + size;
        plain = RedisSessionStorage.builder().client(client).uri(server.uri()).namespace(namespace).build();
        near = RedisSessionStorage.builder().client(client).uri(server.uri()).namespace(namespace)
                .nearCache(10_000, Duration.ofMinutes(1)).build();
        plainManager = new SessionManager(plain);
        nearManager = new SessionManager(near);
        connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE), server.uri());
        raw = connection.sync();
        SessionState state = SessionPayloads.session("near-bench", "user", "project", size, 42).toBuilder()
                .version(1).build();
        plain.storeSession(state, TTL).join();
        raw.set("raw:near", new SessionRecordCodec(StoredFormat.defaults()).encode(state, "raw"),
                SetArgs.Builder.px(TTL.toMillis()));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (near.retrieveSession("near-bench").join().isPresent() && near.nearCacheStats().orElseThrow().hits() == 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the near cache never served a read: " + near.nearCacheStats());
            }
        }
    }

    @TearDown
    public void tearDown() {
        connection.close();
        near.close();
        plain.close();
        client.shutdown();
        BenchServers.stop();
    }

    @Benchmark
    public Optional<SessionState> cached() {
        return nearManager.getSession("near-bench").join();
    }

    @Benchmark
    public Optional<SessionState> uncached() {
        return plainManager.getSession("near-bench").join();
    }

    @Benchmark
    public byte[] raw() {
        return raw.get("raw:near");
    }
}
