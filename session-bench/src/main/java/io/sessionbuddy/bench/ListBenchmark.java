package io.sessionbuddy.bench;

import io.lettuce.core.RedisClient;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
        List<CompletableFuture<Boolean>> pending = new ArrayList<>();
        for (int i = 0; i < sessions; i++) {
            SessionState state = SessionState.builder(String.format("s%07d", i), "user" + (i % users), "project" + (i % 7))
                    .createdAt(Instant.parse("2026-11-20T09:00:00Z")).build();
            pending.add(storage.storeSession(state, null));
            if (pending.size() == 512) {
                pending.forEach(CompletableFuture::join);
                pending.clear();
            }
        }
        pending.forEach(CompletableFuture::join);
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
