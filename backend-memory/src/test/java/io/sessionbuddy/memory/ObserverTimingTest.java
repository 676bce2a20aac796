package io.sessionbuddy.memory;

import static org.assertj.core.api.Assertions.assertThat;

import io.sessionbuddy.core.SessionObserver;
import io.sessionbuddy.core.SessionState;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A timing starts before its operation runs: the memory backend finishes inside the call, so a
 * timing started after the call returned would time nothing.
 */
class ObserverTimingTest {
    @Test
    void everyOperationIsTimedFromBeforeItRuns() {
        try (MemorySessionStorage storage = MemorySessionStorage.builder().build()) {
            List<String> seenAtStart = new ArrayList<>();
            storage.addObserver(new SessionObserver() {
                @Override
                public Timing start(String backend, Operation operation) {
                    seenAtStart.add(operation.tag() + ":" + storage.estimatedSize());
                    return Timing.NONE;
                }
            });
            SessionState state = SessionState.builder("timed", "u", "p").build();
            storage.storeSession(state, null).join();
            storage.replaceSession(state.toBuilder().version(1).build(), state.version(), null).join();
            storage.retrieveSession("timed").join();
            storage.listSessions("u", null).join();
            storage.deleteSession("timed").join();
            storage.cleanupExpiredSessions().join();
            // the store starts with 0 sessions held, the delete with 1
            assertThat(seenAtStart).containsExactly("store:0", "replace:1", "retrieve:1", "list:1", "delete:1",
                    "cleanup:0");
        }
    }
}
