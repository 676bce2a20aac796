package io.sessionbuddy.cli;

import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.spi.SessionBuddy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import picocli.CommandLine.Command;

/** A short scripted tour on the in-memory store: nothing to install, nothing left behind. */
@Command(name = "demo", description = "Run a short scripted scenario on the embedded in-memory store and show what"
        + " happened: sessions for two users, concurrent updates, listing, expiry, cleanup.")
final class DemoCommand extends StoreCommand {
    private static final int THREADS = 8;
    private static final int UPDATES_PER_THREAD = 25;

    @Override
    int execute() throws Exception {
        Map<String, Object> result = new LinkedHashMap<>();
        try (SessionBuddy buddy = SessionBuddy.open(SessionBuddyConfig.defaults())) {
            SessionManager sessions = buddy.manager();
            say("1. Create sessions for two users in project apollo (in-memory store, default TTL "
                    + buddy.config().defaultTtl().toHours() + " h).");
            String alice = sessions.createSession("alice", "apollo", Map.of("counter", 0), null).join();
            String alice2 = sessions.createSession("alice", "apollo", Map.of("tab", "reports"), null).join();
            String bob = sessions.createSession("bob", "apollo", Map.of("role", "reviewer"), null).join();
            say("   alice: " + alice + ", " + alice2);
            say("   bob:   " + bob);

            say("2. " + THREADS + " threads each add 1 to alice's counter " + UPDATES_PER_THREAD
                    + " times, at the same moment (optimistic compare-and-set with retries).");
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<CompletableFuture<Void>> writers = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    writers.add(CompletableFuture.runAsync(() -> {
                        for (int i = 0; i < UPDATES_PER_THREAD; i++) {
                            sessions.updateSession(alice, s -> s.toBuilder()
                                    .metadata(Map.of("counter", s.metadata().path("counter").asInt() + 1)).build(),
                                    null).join();
                        }
                    }, pool));
                }
                CompletableFuture.allOf(writers.toArray(CompletableFuture[]::new)).join();
            } finally {
                pool.shutdown();
            }
            SessionState updated = sessions.getSession(alice).join().orElseThrow();
            int counter = updated.metadata().path("counter").asInt();
            say("   counter = " + counter + " (expected " + THREADS * UPDATES_PER_THREAD + ": "
                    + (counter == THREADS * UPDATES_PER_THREAD ? "no update lost" : "UPDATES LOST") + "), version "
                    + updated.version());
            result.put("counter", counter);

            say("3. List by user and by project (served from indexes).");
            List<String> ofAlice = sessions.listUserSessions("alice").join();
            List<String> ofApollo = sessions.listProjectSessions("apollo").join();
            say("   alice has " + ofAlice.size() + " sessions; project apollo has " + ofApollo.size());
            result.put("alice_sessions", ofAlice.size());
            result.put("apollo_sessions", ofApollo.size());

            say("4. A session with a 1 second TTL expires on its own.");
            String shortLived = sessions.createSession("bob", "apollo", null, Duration.ofSeconds(1)).join();
            say("   created " + shortLived + "; bob now has " + sessions.listUserSessions("bob").join().size()
                    + " sessions");
            Thread.sleep(1_300);
            boolean gone = sessions.getSession(shortLived).join().isEmpty();
            say("   1.3 s later: " + (gone ? "gone" : "STILL THERE") + "; bob has "
                    + sessions.listUserSessions("bob").join().size() + " session");
            result.put("expired_session_gone", gone);

            say("5. Delete one of alice's sessions, then clean up expired ones.");
            sessions.deleteSession(alice2).join();
            int removed = sessions.cleanupSessions().join();
            say("   deleted " + alice2 + "; cleanup removed " + removed + " expired session(s)");
            say("   live sessions now: " + sessions.listSessions(null, null).join().size());
            result.put("cleanup_removed", removed);
            result.put("live_sessions", sessions.listSessions(null, null).join().size());
        }
        say("Done. Point --config at a file, Redis or S3 store to do the same for real.");
        if (json) {
            output().printJson(result);
        }
        return 0;
    }

    private void say(String line) {
        if (!json) {
            context.out.println(line);
        }
    }
}
