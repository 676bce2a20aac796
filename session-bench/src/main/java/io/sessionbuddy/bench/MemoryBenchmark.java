package io.sessionbuddy.bench;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.memory.MemorySessionStorage;
import java.time.Duration;
import java.util.Optional;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The memory backend against raw Caffeine {@code getIfPresent}/{@code put} of the same object,
 * with the same expiry policy (24 h after write) and maximum size.
 */
@State(Scope.Benchmark)
public class MemoryBenchmark {
    /** Session JSON size in bytes. */
    @Param({"1024", "16384", "262144"})
    public int size;

    private MemorySessionStorage storage;
    private Cache<String, SessionState> raw;
    private SessionState state;

    @Setup
    public void setUp() {
        state = SessionPayloads.session("bench-memory", "user", "project", size, 42);
        storage = MemorySessionStorage.builder().build();
        raw = Caffeine.newBuilder().maximumSize(MemorySessionStorage.DEFAULT_MAXIMUM_SIZE)
                .expireAfterWrite(Duration.ofHours(24)).executor(Runnable::run).build();
        storage.storeSession(state, null).join();
        raw.put(state.sessionId(), state);
    }

    @TearDown
    public void tearDown() {
        storage.close();
    }

    @Benchmark
    public Optional<SessionState> retrieve() {
        return storage.retrieveSession(state.sessionId()).join();
    }

    @Benchmark
    public SessionState retrieveRaw() {
        return raw.getIfPresent(state.sessionId());
    }

    @Benchmark
    public Boolean store() {
        return storage.storeSession(state, null).join();
    }

    @Benchmark
    public void storeRaw() {
        raw.put(state.sessionId(), state);
    }

}
