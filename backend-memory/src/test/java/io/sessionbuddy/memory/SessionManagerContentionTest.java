package io.sessionbuddy.memory;

import static org.assertj.core.api.Assertions.assertThat;

import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import io.sessionbuddy.testkit.ConflictCountingStorage;
import org.junit.jupiter.api.Test;

/** Local writers of one session take turns, so sustained contention never exhausts the attempts. */
class SessionManagerContentionTest {
    @Test
    void eightThreadsHammeringOneSessionNeverRunOutOfAttempts() throws Exception {
        AtomicInteger lostCompareAndSets = new AtomicInteger();
        try (MemorySessionStorage memory = MemorySessionStorage.builder().build()) {
            SessionStorage counting = new ConflictCountingStorage(memory, lostCompareAndSets);
            // two attempts only: any local race between these writers would fail an update
            SessionBuddyConfig config = new SessionBuddyConfig("memory", SessionBuddyConfig.DEFAULT_TTL, Duration.ZERO,
                    2, Map.of(), "<test>", List.of(), SessionBuddyConfig.defaults().storedFormat());
            SessionManager manager = new SessionManager(counting, config, Clock.systemUTC());
            String id = manager.createSession("u", "p", Map.of("n", 0), null).join();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<CompletableFuture<Void>> writers = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    writers.add(CompletableFuture.runAsync(() -> {
                        for (int i = 0; i < 2_000; i++) {
                            manager.updateSession(id, s -> s.toBuilder()
                                    .metadata(Map.of("n", s.metadata().path("n").asInt() + 1)).build()).join();
                        }
                    }, pool));
                }
                CompletableFuture.allOf(writers.toArray(CompletableFuture[]::new)).join();
            } finally {
                pool.shutdown();
            }

            SessionState last = manager.getSession(id).join().orElseThrow();
            assertThat(last.metadata().path("n").asInt()).isEqualTo(16_000);
            assertThat(last.version()).isEqualTo(16_001);
            assertThat(lostCompareAndSets).hasValue(0);
        }
    }

    @Test
    void aLongQueueOfAsynchronousUpdatesDoesNotOverflowTheStack() {
        try (MemorySessionStorage memory = MemorySessionStorage.builder().build()) {
            SessionManager manager = new SessionManager(memory);
            String id = manager.createSession("u", "p", Map.of("n", 0), null).join();
            List<CompletableFuture<?>> pending = new ArrayList<>();
            for (int i = 0; i < 20_000; i++) {
                pending.add(manager.updateSession(id, s -> s.toBuilder()
                        .metadata(Map.of("n", s.metadata().path("n").asInt() + 1)).build()));
            }
            CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).join();

            assertThat(manager.getSession(id).join().orElseThrow().metadata().path("n").asInt()).isEqualTo(20_000);
        }
    }

    @Test
    void queuedUpdatesOverAStoreThatAnswersOnAnotherThreadRunInTurnWithoutNesting() {
        java.util.concurrent.ExecutorService io = java.util.concurrent.Executors.newSingleThreadExecutor();
        try (MemorySessionStorage memory = MemorySessionStorage.builder().build()) {
            // every read completes later, on another thread, as a network store's does
            io.sessionbuddy.spi.ForwardingSessionStorage later = new io.sessionbuddy.spi.ForwardingSessionStorage(memory) {
                @Override
                public CompletableFuture<java.util.Optional<io.sessionbuddy.core.SessionState>> retrieveSession(
                        String sessionId) {
                    return super.retrieveSession(sessionId).thenApplyAsync(found -> found, io);
                }
            };
            SessionManager manager = new SessionManager(later);
            String id = manager.createSession("u", "p", Map.of("n", 0), null).join();
            int[] deepest = {0};
            List<CompletableFuture<?>> pending = new ArrayList<>();
            for (int i = 0; i < 5_000; i++) {
                pending.add(manager.updateSession(id, s -> {
                    deepest[0] = Math.max(deepest[0], Thread.currentThread().getStackTrace().length);
                    return s.toBuilder().putMetadata("n", s.metadata().path("n").asInt() + 1).build();
                }));
            }
            CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).join();

            assertThat(manager.getSession(id).join().orElseThrow().metadata().path("n").asInt()).isEqualTo(5_000);
            assertThat(deepest[0]).as("stack depth inside an update").isLessThan(300);
        } finally {
            io.shutdownNow();
        }
    }

    @Test
    void anUpdateFunctionThatThrowsFailsOnlyItsOwnUpdateAndTheQueueGoesOn() {
        try (MemorySessionStorage memory = MemorySessionStorage.builder().build()) {
            SessionManager manager = new SessionManager(memory);
            String id = manager.createSession("u", "p", Map.of("n", 0), null).join();

            CompletableFuture<?> broken = manager.updateSession(id, s -> {
                throw new AssertionError("the caller's bug");
            });
            CompletableFuture<?> fine = manager.updateSession(id, s -> s.toBuilder().putMetadata("n", 1).build());

            assertThat(broken).failsWithin(java.time.Duration.ofSeconds(5))
                    .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                    .withCauseInstanceOf(AssertionError.class);
            fine.join();
            assertThat(manager.getSession(id).join().orElseThrow().metadata().path("n").asInt()).isEqualTo(1);
        }
    }
}
