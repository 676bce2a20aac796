package io.sessionbuddy.bench;

import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.redis.RedisSessionStorage;
import io.sessionbuddy.redis.RedisTestServer;
import java.time.Duration;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Cheap touch on Redis (issue #18): {@code touchSession} of a 1 KiB and a 256 KiB session against a
 * raw Lettuce {@code PEXPIRE} of a key holding the same record, 1 in flight, on a real local
 * redis-server; {@code rewrite} is what a touch cost before (read, decode, write back);
 * {@code getWithRefresh} is a read with {@code refresh_ttl_on_read} next to a plain {@code get}.
 */
@State(Scope.Benchmark)
public class TouchBenchmark {
    private static final Duration TTL = Duration.ofHours(24);

    /** Session JSON size in bytes. */
    @Param({"1024", "262144"})
    public int size;

    private RedisClient client;
    private RedisSessionStorage storage;
    private StatefulRedisConnection<String, byte[]> connection;
    private RedisCommands<String, byte[]> raw;
    private SessionState state;
    private io.sessionbuddy.core.SessionManager plain;
    private io.sessionbuddy.core.SessionManager sliding;

    @Setup
    public void setUp() {
        RedisTestServer server = BenchServers.redis();
        client = RedisClient.create();
        storage = RedisSessionStorage.builder().client(client).uri(server.uri()).namespace("touchbench" + size).build();
        connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE), server.uri());
        raw = connection.sync();
        state = SessionPayloads.session("touch-bench", "user", "project", size, 42).toBuilder().version(1).build();
        storage.storeSession(state, TTL).join();
        plain = new io.sessionbuddy.core.SessionManager(storage);
        sliding = new io.sessionbuddy.core.SessionManager(storage, io.sessionbuddy.core.SessionBuddyConfig.defaults()
                .withRefreshTtlOnRead(true), java.time.Clock.systemUTC());
        raw.set("rawtouch", new SessionRecordCodec(StoredFormat.defaults()).encode(state, "raw"),
                SetArgs.Builder.px(TTL.toMillis()));
    }

    @TearDown
    public void tearDown() {
        connection.close();
        storage.close();
        client.shutdown();
        BenchServers.stop();
    }

    @Benchmark
    public boolean touch() {
        return storage.touchSession("touch-bench", TTL).join();
    }

    @Benchmark
    public boolean pexpireRaw() {
        return raw.pexpire("rawtouch", TTL.toMillis());
    }

    /** {@code getSession} with {@code refresh_ttl_on_read}: the touch and the read in one script. */
    @Benchmark
    public java.util.Optional<SessionState> getWithRefresh() {
        return sliding.getSession("touch-bench").join();
    }

    /** {@code getSession} without it, the baseline of {@link #getWithRefresh}. */
    @Benchmark
    public java.util.Optional<SessionState> get() {
        return plain.getSession("touch-bench").join();
    }

    @Benchmark
    public boolean rewrite() {
        SessionState current = storage.retrieveSession("touch-bench").join().orElseThrow();
        return storage.replaceSession(current, current.version(), TTL).join();
    }
}
