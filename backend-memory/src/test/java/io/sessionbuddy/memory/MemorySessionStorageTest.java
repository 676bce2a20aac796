package io.sessionbuddy.memory;

import static org.assertj.core.api.Assertions.assertThat;

import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.testkit.SessionStorageContract;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class MemorySessionStorageTest extends SessionStorageContract {
    @Override
    protected SessionStorage createStorage(Clock clock, StoredFormat format) {
        return MemorySessionStorage.builder().clock(clock).storedFormat(format).build();
    }

    @Test
    void indexesOfExpiredSessionsGoWithThemWithoutCleanup() {
        try (MemorySessionStorage memory = MemorySessionStorage.builder().clock(clock).maximumSize(1000).build()) {
            for (int round = 0; round < 5; round++) {
                for (int i = 0; i < 1000; i++) {
                    await(memory.storeSession(session(id(), "user-" + round + "-" + i, "project-" + round),
                            Duration.ofMinutes(1)));
                }
                clock.advance(Duration.ofMinutes(2));
            }
            await(memory.retrieveSession(id())); // any access runs Caffeine's maintenance

            assertThat(memory.estimatedSize()).isLessThanOrEqualTo(1000);
            assertThat(memory.indexKeyCount()).as("user and project index keys").isLessThanOrEqualTo(1001 + 1);
            assertThat(await(memory.cleanupExpiredSessions())).isGreaterThanOrEqualTo(1000);
        }
    }

    @Test
    void aSessionStoredAgainAfterItExpiredIsListedAndRewritesKeepItsIndexEntries() {
        try (MemorySessionStorage memory = MemorySessionStorage.builder().clock(clock).build()) {
            String id = id();
            await(memory.storeSession(session(id, "u", "p"), Duration.ofMinutes(1)));
            clock.advance(Duration.ofMinutes(2));
            await(memory.storeSession(session(id, "u", "p"), Duration.ofMinutes(10)));
            assertThat(await(memory.listSessions("u", null))).containsExactly(id);
            assertThat(await(memory.listSessions(null, "p"))).containsExactly(id);

            // rewrites with the same owner leave the entries; a new owner moves them
            SessionState stored = await(memory.retrieveSession(id)).orElseThrow();
            assertThat(await(memory.replaceSession(stored.toBuilder().version(stored.version() + 1).build(),
                    stored.version(), Duration.ofMinutes(10)))).isTrue();
            assertThat(await(memory.listSessions("u", "p"))).containsExactly(id);
            await(memory.storeSession(session(id, "v", "p"), Duration.ofMinutes(10)));
            assertThat(await(memory.listSessions("u", null))).isEmpty();
            assertThat(await(memory.listSessions("v", "p"))).containsExactly(id);
        }
    }

    @Test
    void expiryIsExactBelowAMillisecond() {
        io.sessionbuddy.testkit.MutableClock fine = new io.sessionbuddy.testkit.MutableClock(
                java.time.Instant.parse("2026-11-27T10:00:00.000400Z"));
        try (MemorySessionStorage memory = MemorySessionStorage.builder().clock(fine).build()) {
            String id = id();
            // expires at 10:00:00.000900: the same millisecond as "now" until then
            await(memory.storeSession(session(id, "u", "p"), Duration.ofNanos(500_000)));
            assertThat(await(memory.retrieveSession(id))).isPresent();
            fine.advance(Duration.ofNanos(499_999));
            assertThat(await(memory.retrieveSession(id))).as("1 ns before expires_at").isPresent();
            fine.advance(Duration.ofNanos(1));
            assertThat(await(memory.retrieveSession(id))).as("at expires_at").isEmpty();
            fine.advance(Duration.ofMillis(1));
            assertThat(await(memory.retrieveSession(id))).isEmpty();
        }
    }
}
