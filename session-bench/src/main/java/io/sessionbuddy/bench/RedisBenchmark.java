package io.sessionbuddy.bench;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.redis.RedisSessionStorage;
import io.sessionbuddy.redis.RedisTestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The Redis backend against raw Lettuce {@code SET PX}/{@code GET} of the same encoded bytes, on a
 * real local redis-server, with 1 or 64 operations in flight (on 64 distinct sessions). One
 * benchmark invocation issues {@code inFlight} operations and waits for all of them; the report
 * multiplies by {@code inFlight} to give operations per second.
 */
@State(Scope.Benchmark)
public class RedisBenchmark {
    private static final Duration TTL = Duration.ofHours(24);

    /** Session JSON size in bytes. */
    @Param({"1024", "16384", "262144"})
    public int size;

    /** Operations in flight at once. */
    @Param({"1", "64"})
    public int inFlight;

    private RedisClient client;
    private RedisSessionStorage storage;
    private StatefulRedisConnection<String, byte[]> connection;
    private RedisAsyncCommands<String, byte[]> raw;
    private SessionState[] states;
    private byte[][] records;
    private String readSha;

    @Setup
    public void setUp() {
        RedisTestServer server = BenchServers.redis();
        client = RedisClient.create();
        storage = RedisSessionStorage.builder().client(client).uri(server.uri()).namespace("bench" + size + "x" + inFlight)
                .build();
        connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE), server.uri());
        raw = connection.async();
        readSha = connection.sync().scriptLoad(READ_SCRIPT);
        SessionRecordCodec codec = new SessionRecordCodec(StoredFormat.defaults());
        states = new SessionState[inFlight];
        records = new byte[inFlight][];
        for (int i = 0; i < inFlight; i++) {
            states[i] = SessionPayloads.session("bench-redis-" + i, "user" + i, "project", size, 42)
                    .toBuilder().version(1).build();
            records[i] = codec.encode(states[i], "raw");
            storage.storeSession(states[i], TTL).join();
            raw.set("raw:" + i, records[i], SetArgs.Builder.px(TTL.toMillis())).toCompletableFuture().join();
        }
    }

    @TearDown
    public void tearDown() {
        connection.close();
        storage.close();
        client.shutdown();
        BenchServers.stop();
    }

    @Benchmark
    public void store() {
        List<CompletableFuture<Boolean>> pending = new ArrayList<>(inFlight);
        for (SessionState state : states) {
            pending.add(storage.storeSession(state, TTL));
        }
        pending.forEach(CompletableFuture::join);
    }

    /** Compare-and-set from version 1 to version 1: the whole CAS path, always succeeding. */
    @Benchmark
    public void replace() {
        List<CompletableFuture<Boolean>> pending = new ArrayList<>(inFlight);
        for (SessionState state : states) {
            pending.add(storage.replaceSession(state, 1, TTL));
        }
        for (CompletableFuture<Boolean> done : pending) {
            if (!done.join()) {
                throw new IllegalStateException("replace lost its compare-and-set");
            }
        }
    }

    @Benchmark
    public void retrieve() {
        List<CompletableFuture<?>> pending = new ArrayList<>(inFlight);
        for (SessionState state : states) {
            pending.add(storage.retrieveSession(state.sessionId()));
        }
        pending.forEach(CompletableFuture::join);
    }

    /**
     * {@link #retrieve}, then every conversation entry looked at: what a read costs a request that
     * uses the conversation (a read alone leaves it unparsed until it is used).
     */
    @Benchmark
    public long retrieveConversation() {
        List<CompletableFuture<Optional<SessionState>>> pending = new ArrayList<>(inFlight);
        for (SessionState state : states) {
            pending.add(storage.retrieveSession(state.sessionId()));
        }
        long fields = 0;
        for (CompletableFuture<Optional<SessionState>> read : pending) {
            fields += SessionPayloads.useConversation(read.join().orElseThrow());
        }
        return fields;
    }

    @Benchmark
    public void storeRaw() {
        List<RedisFuture<String>> pending = new ArrayList<>(inFlight);
        for (int i = 0; i < inFlight; i++) {
            pending.add(raw.set("raw:" + i, records[i], SetArgs.Builder.px(TTL.toMillis())));
        }
        pending.forEach(f -> f.toCompletableFuture().join());
    }

    /**
     * Not a baseline but a breakdown: the library's read script ({@code HSTRLEN} bound,
     * {@code HMGET} of record and version) sent raw, without decoding: what the server and
     * the wire cost, apart from the library's own work.
     */
    @Benchmark
    public void retrieveScriptRaw() {
        List<RedisFuture<List<Object>>> pending = new ArrayList<>(inFlight);
        for (SessionState state : states) {
            pending.add(raw.evalsha(readSha, io.lettuce.core.ScriptOutputType.MULTI,
                    new String[] {"bench" + size + "x" + inFlight + ":{" + state.sessionId() + "}"},
                    "16777216".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
        }
        pending.forEach(f -> f.toCompletableFuture().join());
    }

    /** The Redis backend's read script (RedisScripts.READ_BOUNDED), for {@link #retrieveScriptRaw}. */
    private static final String READ_SCRIPT = "local n = redis.call('HSTRLEN', KEYS[1], 'd') "
            + "if n > tonumber(ARGV[1]) then return redis.error_reply('SBTOOLARGE ' .. n) end "
            + "return redis.call('HMGET', KEYS[1], 'd', 'v')";

    @Benchmark
    public void retrieveRaw() {
        List<RedisFuture<byte[]>> pending = new ArrayList<>(inFlight);
        for (int i = 0; i < inFlight; i++) {
            pending.add(raw.get("raw:" + i));
        }
        pending.forEach(f -> f.toCompletableFuture().join());
    }
}
