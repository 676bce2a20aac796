package io.sessionbuddy.bench;

import io.lettuce.core.RedisClient;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionPage;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import java.util.List;
import java.util.Optional;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The cost of the read-path features of issue #18 that have no raw-client counterpart: a session
 * id rotation next to an update of the same session (both 1 KiB), and a project of 10,000 sessions
 * (or {@code projectSessions}) listed whole, as its first page of 100, and walked in pages of 1,000.
 * Rotation rows are for memory and Redis; listing rows for every backend.
 */
@State(Scope.Benchmark)
public class ReadPathFeaturesBenchmark {
    /** The backend. */
    @Param({"memory", "redis"})
    public String backend;

    /** How many sessions the listed project holds (a page's cost should not follow it). */
    @Param({"10000"})
    public int projectSessions;

    private RedisClient client;
    private SessionStorage storage;
    private SessionManager manager;
    private String rotating;
    private String updated;

    @Setup
    public void setUp() {
        client = RedisClient.create();
        storage = Stores.open(backend, "features", client);
        manager = new SessionManager(storage);
        Stores.fill(storage, "p", projectSessions, i -> new String[] {"user" + (i % 1000), "big-project"});
        SessionState session = SessionPayloads.session("rotating-0", "rotator", "rot-project", 1024, 3);
        storage.storeSession(session, null).join();
        rotating = session.sessionId();
        SessionState other = SessionPayloads.session("updated-0", "rotator", "rot-project", 1024, 4);
        storage.storeSession(other, null).join();
        updated = other.sessionId();
    }

    @TearDown
    public void tearDown() {
        storage.close();
        client.shutdown();
        BenchServers.stop();
    }

    /** Each call moves the session to a new id (the next call rotates that one). */
    @Benchmark
    public String rotate() {
        rotating = manager.rotateSessionId(rotating).join().orElseThrow();
        return rotating;
    }

    /** The baseline of {@link #rotate}: one update of a session of the same size. */
    @Benchmark
    public Optional<SessionState> update() {
        return manager.updateSession(updated, s -> s.toBuilder().putMetadata("n", s.version()).build()).join();
    }

    @Benchmark
    public List<String> listWholeProject() {
        return manager.listProjectSessions("big-project").join();
    }

    @Benchmark
    public SessionPage firstPageOf100() {
        return manager.listSessions(null, "big-project", null, 100).join();
    }

    @Benchmark
    public int walkInPagesOf1000() {
        int listed = 0;
        String cursor = null;
        do {
            SessionPage page = manager.listSessions(null, "big-project", cursor, 1000).join();
            listed += page.ids().size();
            cursor = page.nextCursor();
        } while (cursor != null);
        if (listed != projectSessions) {
            throw new IllegalStateException("walked " + listed);
        }
        return listed;
    }

}
