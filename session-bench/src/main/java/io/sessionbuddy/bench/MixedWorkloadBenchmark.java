package io.sessionbuddy.bench;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.file.FileSessionStorage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * What a service feels: 10,000 sessions of 1 KiB, 8 threads, each request picks a session at
 * random and does {@code getSession} (90 %) or {@code updateSession} (10 %, one metadata value
 * changed), through {@link SessionManager}. Next to it, the raw client doing the same requests
 * on the same encoded bytes: a GET for a read, a GET then a SET for an update (no decoding, no
 * compare-and-set). Run in two modes: throughput, and sampled latency (p50/p99 in the report).
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.Throughput, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class MixedWorkloadBenchmark {
    private static final int SESSIONS = 10_000;
    private static final Duration TTL = Duration.ofHours(24);

    /** The backend. */
    @Param({"memory", "redis", "file"})
    public String backend;

    private RedisClient client;
    private StatefulRedisConnection<String, byte[]> connection;
    private RedisCommands<String, byte[]> redis;
    private Cache<String, SessionState> caffeine;
    private Path directory;
    private SessionStorage storage;
    private SessionManager manager;
    private String[] ids;
    private byte[][] records;

    /** Each thread's own random choices. */
    @State(Scope.Thread)
    public static class Choices {
        final SplittableRandom random = new SplittableRandom(Thread.currentThread().getId());
        long counter;
    }

    @Setup
    public void setUp() throws IOException {
        client = RedisClient.create();
        switch (backend) {
            case "file" -> {
                Path base = Files.createDirectories(Path.of(System.getProperty("bench.dir", "target"))
                        .toAbsolutePath().normalize());
                directory = Files.createTempDirectory(base, "mixed-bench-");
                Files.createDirectories(directory.resolve("raw"));
                storage = FileSessionStorage.builder(directory.resolve("store")).build();
            }
            case "redis" -> {
                storage = Stores.open(backend, "mixed", client);
                connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE),
                        BenchServers.redis().uri());
                redis = connection.sync();
            }
            default -> {
                storage = Stores.open(backend, "mixed", client);
                caffeine = Caffeine.newBuilder().maximumSize(1_000_000).expireAfterWrite(TTL).build();
            }
        }
        manager = new SessionManager(storage, SessionBuddyConfig.defaults(), Clock.systemUTC());
        SessionRecordCodec codec = new SessionRecordCodec(StoredFormat.defaults());
        ids = new String[SESSIONS];
        records = new byte[SESSIONS][];
        for (int i = 0; i < SESSIONS; i++) {
            SessionState state = SessionPayloads.session(String.format("mixed-%05d", i), "user" + i % 500,
                    "project" + i % 20, 1024, i);
            ids[i] = state.sessionId();
            storage.storeSession(state, TTL).join();
            records[i] = codec.encode(state, "raw");
            switch (backend) {
                case "file" -> Files.write(directory.resolve("raw").resolve(ids[i]), records[i]);
                case "redis" -> redis.set("raw:" + ids[i], records[i], SetArgs.Builder.px(TTL.toMillis()));
                default -> caffeine.put(ids[i], state);
            }
        }
    }

    @TearDown
    public void tearDown() throws IOException {
        storage.close();
        if (connection != null) {
            connection.close();
        }
        client.shutdown();
        if (directory != null) {
            try (var files = Files.walk(directory)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        BenchServers.stop();
    }

    /** One request through the library. */
    @Benchmark
    @Threads(8)
    public Object library(Choices choices) {
        String id = ids[choices.random.nextInt(SESSIONS)];
        if (choices.random.nextInt(10) != 0) {
            return manager.getSession(id).join();
        }
        long n = ++choices.counter;
        return manager.updateSession(id, s -> s.toBuilder().putMetadata("n", n).build(), null).join();
    }

    /** The same request through the raw client. */
    @Benchmark
    @Threads(8)
    public Object raw(Choices choices) throws IOException {
        int i = choices.random.nextInt(SESSIONS);
        boolean update = choices.random.nextInt(10) == 0;
        switch (backend) {
            case "file" -> {
                Path file = directory.resolve("raw").resolve(ids[i]);
                byte[] read = Files.readAllBytes(file);
                if (update) {
                    FileBenchmark.writeDurably(file, read);
                }
                return read;
            }
            case "redis" -> {
                byte[] read = redis.get("raw:" + ids[i]);
                if (update) {
                    redis.set("raw:" + ids[i], read, SetArgs.Builder.px(TTL.toMillis()));
                }
                return read;
            }
            default -> {
                SessionState read = caffeine.getIfPresent(ids[i]);
                if (update) {
                    caffeine.put(ids[i], read);
                }
                return read;
            }
        }
    }
}
