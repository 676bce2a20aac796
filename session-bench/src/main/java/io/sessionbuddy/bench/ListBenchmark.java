package io.sessionbuddy.bench;

import io.lettuce.core.RedisClient;
import io.sessionbuddy.core.SessionStorage;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * {@code listSessions(user)} with 1,000 and 100,000 sessions in the store and 10 sessions per
 * user: served from an index, its cost must not grow with the number of sessions.
 */
@State(Scope.Benchmark)
public class ListBenchmark {
    private static final int PER_USER = 10;

    /** Sessions in the store. */
    @Param({"1000", "100000"})
    public int sessions;

    /** The backend. */
    @Param({"memory", "redis"})
    public String backend;

    private RedisClient client;
    private SessionStorage storage;
    private int users;
    private int next;

    @Setup
    public void setUp() {
        client = RedisClient.create();
        storage = Stores.open(backend, "list" + sessions, client);
        users = sessions / PER_USER;
        Stores.fill(storage, "s", sessions, i -> new String[] {"user" + (i % users), "project" + (i % 7)});
        List<String> sample = storage.listSessions("user1", null).join();
        if (sample.size() != PER_USER) {
            throw new IllegalStateException("expected " + PER_USER + " sessions of user1, listed " + sample.size());
        }
    }

    @TearDown
    public void tearDown() {
        storage.close();
        client.shutdown();
        BenchServers.stop();
    }

    @Benchmark
    public List<String> listUser() {
        next = (next + 7919) % users;
        return storage.listSessions("user" + next, null).join();
    }
}
