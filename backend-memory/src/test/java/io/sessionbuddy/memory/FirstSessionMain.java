package io.sessionbuddy.memory;

import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.spi.SessionBuddy;
import java.util.Map;

/** What a function does on a cold start: open the library, store one session and read it back. */
public final class FirstSessionMain {
    private FirstSessionMain() {
    }

    /** Entry point; prints {@code read <id>}. */
    public static void main(String[] args) {
        try (SessionBuddy buddy = SessionBuddy.open()) {
            SessionManager sessions = buddy.manager();
            String id = sessions.createSession("user", "project", Map.of("theme", "dark"), null).join();
            String read = sessions.getSession(id).join().orElseThrow().sessionId();
            System.out.println("read " + read);
        }
    }
}
