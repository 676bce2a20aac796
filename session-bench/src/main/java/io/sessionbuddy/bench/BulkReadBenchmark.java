package io.sessionbuddy.bench;

import io.lettuce.core.KeyValue;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Bulk reads on Redis (issue #18): 100 sessions of 1 KiB read with one {@code getSessions} call,
 * with 100 {@code getSession} calls one after the other, and raw: one {@code MGET} of the same
 * 100 records. One invocation reads all 100; scores are invocations (100 sessions each) per second.
 */
@State(Scope.Benchmark)
public class BulkReadBenchmark {
    private static final int SESSIONS = 100;

    private RedisClient client;
    private RedisSessionStorage storage;
    private SessionManager manager;
    private StatefulRedisConnection<String, byte[]> connection;
    private RedisCommands<String, byte[]> raw;
    private List<String> ids;
    private String[] rawKeys;

    @Setup
    public void setUp() {
        RedisTestServer server = BenchServers.redis();
        client = RedisClient.create();
        storage = RedisSessionStorage.builder().client(client).uri(server.uri()).namespace("bulkbench").build();
        manager = new SessionManager(storage);
        connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE), server.uri());
        raw = connection.sync();
        SessionRecordCodec codec = new SessionRecordCodec(StoredFormat.defaults());
        ids = new ArrayList<>();
        rawKeys = new String[SESSIONS];
        for (int i = 0; i < SESSIONS; i++) {
            SessionState state = SessionPayloads.session("bulk-" + i, "user", "project", 1024, i).toBuilder()
                    .version(1).build();
            storage.storeSession(state, Duration.ofHours(1)).join();
            ids.add(state.sessionId());
            rawKeys[i] = "rawbulk:" + i;
            raw.set(rawKeys[i], codec.encode(state, "raw"), SetArgs.Builder.px(Duration.ofHours(1).toMillis()));
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
    public Map<String, SessionState> bulk() {
        Map<String, SessionState> found = manager.getSessions(ids).join();
        if (found.size() != SESSIONS) {
            throw new IllegalStateException("found " + found.size());
        }
        return found;
    }

    @Benchmark
    public int oneByOne() {
        int found = 0;
        for (String id : ids) {
            found += manager.getSession(id).join().isPresent() ? 1 : 0;
        }
        return found;
    }

    @Benchmark
    public List<KeyValue<String, byte[]>> rawMget() {
        return raw.mget(rawKeys);
    }
}
