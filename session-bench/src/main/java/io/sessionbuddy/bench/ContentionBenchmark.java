package io.sessionbuddy.bench;

import io.lettuce.core.RedisClient;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.ForwardingSessionStorage;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * {@code updateSession} of one session from 8 threads at once: throughput of successful updates and
 * the compare-and-set conflicts (retries) per success. Next to it, the raw client's loop doing
 * the same serially on one thread: a GET then a SET of the encoded record (Redis), a
 * {@code getIfPresent} then a {@code put} (Caffeine), with no decoding and no compare-and-set.
 */
@State(Scope.Benchmark)
public class ContentionBenchmark {
    /** The backend. */
    @Param({"memory", "redis"})
    public String backend;

    private RedisClient client;
    private SessionStorage storage;
    private SessionManager manager;
    private String id;
    private io.lettuce.core.api.StatefulRedisConnection<String, byte[]> connection;
    private com.github.benmanes.caffeine.cache.Cache<String, SessionState> caffeine;
    private byte[] record;
    private final ThreadLocal<long[]> conflicts = ThreadLocal.withInitial(() -> new long[1]);

    /** Per-thread counts JMH reports next to the score. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Counts {
        /** Compare-and-set attempts that lost to another writer. */
        public long conflicts;
    }

    @Setup
    public void setUp() {
        client = RedisClient.create();
        SessionStorage real = Stores.open(backend, "contention", client);
        storage = new CountingStorage(real, conflicts);
        manager = new SessionManager(storage, SessionBuddyConfig.defaults(), Clock.systemUTC());
        id = manager.createSession("user", "project", Map.of("counter", 0), null).join();
        SessionState state = manager.getSession(id).join().orElseThrow();
        record = new io.sessionbuddy.core.format.SessionRecordCodec(io.sessionbuddy.core.format.StoredFormat.defaults())
                .encode(state, "raw");
        if (backend.equals("redis")) {
            connection = client.connect(io.lettuce.core.codec.RedisCodec.of(io.lettuce.core.codec.StringCodec.UTF8,
                    io.lettuce.core.codec.ByteArrayCodec.INSTANCE), BenchServers.redis().uri());
            connection.sync().set("raw:contention", record);
        } else {
            caffeine = com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(1000).build();
            caffeine.put(id, state);
        }
    }

    @TearDown
    public void tearDown() {
        if (connection != null) {
            connection.close();
        }
        storage.close();
        client.shutdown();
        BenchServers.stop();
    }

    @Benchmark
    @Threads(8)
    public Optional<SessionState> update(Counts counts) {
        long[] mine = conflicts.get();
        long before = mine[0];
        Optional<SessionState> updated = manager.updateSession(id, s -> s.toBuilder()
                .metadata(Map.of("counter", s.metadata().path("counter").asLong() + 1)).build(), null).join();
        counts.conflicts += mine[0] - before;
        return updated;
    }

    /** The raw client's read-then-write of the same record, serially on one thread. */
    @Benchmark
    @Threads(1)
    public Object updateRaw() {
        if (connection != null) {
            byte[] read = connection.sync().get("raw:contention");
            return connection.sync().set("raw:contention", read);
        }
        SessionState read = caffeine.getIfPresent(id);
        caffeine.put(id, read);
        return read;
    }

    /** Counts, per thread, the replaces that lost their compare-and-set. */
    private static final class CountingStorage extends ForwardingSessionStorage {
        private final ThreadLocal<long[]> conflicts;

        CountingStorage(SessionStorage delegate, ThreadLocal<long[]> conflicts) {
            super(delegate);
            this.conflicts = conflicts;
        }

        @Override
        public CompletableFuture<Boolean> replaceSession(SessionState state, long expectedVersion, Duration ttl) {
            long[] mine = conflicts.get();
            return super.replaceSession(state, expectedVersion, ttl).thenApply(ok -> {
                if (!ok) {
                    mine[0]++;
                }
                return ok;
            });
        }
    }
}
