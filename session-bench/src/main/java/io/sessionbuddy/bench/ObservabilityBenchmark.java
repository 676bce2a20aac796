package io.sessionbuddy.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sessionbuddy.core.SessionEvent;
import io.sessionbuddy.core.SessionListener;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.memory.MemorySessionStorage;
import io.sessionbuddy.micrometer.SessionBuddyMetrics;
import java.util.Optional;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What observability costs on the hot path of the fastest backend (memory, 1 KiB session):
 * nothing bound ({@code none}), Micrometer metrics bound to a {@code SimpleMeterRegistry}
 * ({@code metrics}), and metrics plus a session listener ({@code metrics+listener}).
 */
@State(Scope.Benchmark)
public class ObservabilityBenchmark {
    /** What is bound. */
    @Param({"none", "metrics", "metrics+listener"})
    public String observed;

    private MemorySessionStorage storage;
    private SessionManager manager;
    private String id;

    @Setup
    public void setUp() {
        storage = MemorySessionStorage.builder().build();
        manager = new SessionManager(storage);
        SessionState state = SessionPayloads.session("bench-observed", "user", "project", 1024, 42);
        storage.storeSession(state, null).join();
        id = state.sessionId();
        if (!observed.equals("none")) {
            SessionBuddyMetrics.of(storage, manager).bindTo(new SimpleMeterRegistry());
        }
        if (observed.endsWith("listener")) {
            manager.addListener(new SessionListener() {
                @Override
                public void sessionUpdated(SessionEvent event) {
                    // receives every update's event on the events thread
                }
            });
        }
    }

    @TearDown
    public void tearDown() {
        storage.close();
    }

    @Benchmark
    public Optional<SessionState> getSession() {
        return manager.getSession(id).join();
    }

    @Benchmark
    public Optional<SessionState> update() {
        return manager.updateSession(id, s -> s).join();
    }
}
