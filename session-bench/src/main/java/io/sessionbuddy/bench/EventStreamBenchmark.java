package io.sessionbuddy.bench;

import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.redis.RedisSessionStorage;
import io.sessionbuddy.redis.RedisTestCluster;
import io.sessionbuddy.redis.RedisTestServer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the cross-instance event stream costs a write: a compare-and-set replace of a 1 KiB session,
 * one at a time, with {@code event_stream} off and on, on a standalone redis-server and on a
 * 3-master Redis Cluster (where the event goes to the slot's stream in the same script and the
 * slot to the bell right after).
 */
@State(Scope.Benchmark)
public class EventStreamBenchmark {
    /** Standalone or cluster. */
    @Param({"standalone", "cluster"})
    public String redis;

    /** Whether writes append their events. */
    @Param({"off", "on"})
    public String events;

    private RedisTestCluster cluster;
    private RedisSessionStorage storage;
    private SessionState state;

    @Setup
    public void setUp() {
        RedisSessionStorage.Builder builder;
        if (redis.equals("cluster")) {
            cluster = RedisTestCluster.start();
            builder = RedisSessionStorage.builder().clusterNodes(cluster.seeds());
        } else {
            RedisTestServer server = BenchServers.redis();
            builder = RedisSessionStorage.builder().uri(server.uri());
        }
        storage = builder.namespace("events-" + events).eventStream(events.equals("on"), 100_000).build();
        state = SessionPayloads.session("bench-events", "user", "project", 1024, 42);
        storage.storeSession(state, null).join();
    }

    @TearDown
    public void tearDown() {
        storage.close();
        if (cluster != null) {
            cluster.close();
        }
        BenchServers.stop();
    }

    /**
     * One compare-and-set replace (the version goes up by one each time).
     *
     * @return whether it was stored
     */
    @Benchmark
    public boolean replace() {
        SessionState next = state.toBuilder().version(state.version() + 1).build();
        boolean stored = storage.replaceSession(next, state.version(), null).join();
        state = next;
        return stored;
    }
}
