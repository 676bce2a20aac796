package io.sessionbuddy.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionJsonCodec;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.memory.MemorySessionStorage;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the value type costs by itself: reading a field of a state, making a changed state, parsing
 * a record's JSON, and one {@code updateSession} on the memory backend (one read, one
 * compare-and-set, no I/O), so that copies show up without any backend in the way.
 */
@State(Scope.Benchmark)
public class StateBenchmark {
    /** Session JSON size in bytes. */
    @Param({"1024", "16384", "262144"})
    public int size;

    private SessionState state;
    private byte[] json;
    private MemorySessionStorage storage;
    private SessionManager manager;
    private long counter;

    @Setup
    public void setUp() {
        state = SessionPayloads.session("bench-state", "user", "project", size, 42);
        json = SessionJsonCodec.toBytes(state);
        storage = MemorySessionStorage.builder().build();
        manager = new SessionManager(storage, SessionBuddyConfig.defaults(), Clock.systemUTC());
        storage.storeSession(state, null).join();
    }

    @TearDown
    public void tearDown() {
        storage.close();
    }

    /** The conversation, as a caller reads it: the list and its last entry's role. */
    @Benchmark
    public JsonNode readHistory() {
        var history = state.conversationHistory();
        return history.isEmpty() ? null : history.get(history.size() - 1).get("role");
    }

    /** One metadata value. */
    @Benchmark
    public JsonNode readMetadata() {
        return state.metadata().get("client");
    }

    /** A state with one metadata value changed, everything else as it was. */
    @Benchmark
    public SessionState changeOne() {
        return state.toBuilder().metadata(Map.of("counter", ++counter)).build();
    }

    /** A record's JSON to a state. */
    @Benchmark
    public SessionState parse() {
        return SessionJsonCodec.fromBytes(json);
    }

    /** One manager update on the memory backend, one thread. */
    @Benchmark
    public Optional<SessionState> memoryUpdate() {
        return manager.updateSession(state.sessionId(),
                s -> s.toBuilder().metadata(Map.of("counter", ++counter)).build(), null).join();
    }
}
