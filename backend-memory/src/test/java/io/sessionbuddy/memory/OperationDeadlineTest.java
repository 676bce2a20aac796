package io.sessionbuddy.memory;

import static org.assertj.core.api.Assertions.assertThat;

import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionOutcomeUnknownException;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.spi.ForwardingSessionStorage;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Every manager call finishes, either way, within operation_timeout, queue wait included. */
class OperationDeadlineTest {
    @Test
    @Timeout(60)
    void callsOnAFrozenStoreFinishWithinTheOperationTimeoutAndWorkAfterwards() throws Exception {
        CompletableFuture<Void> thaw = new CompletableFuture<>();
        try (MemorySessionStorage memory = MemorySessionStorage.builder().build()) {
            ForwardingSessionStorage frozen = new ForwardingSessionStorage(memory) {
                @Override
                public CompletableFuture<Boolean> replaceSession(SessionState state, long expected, Duration ttl) {
                    return thaw.thenCompose(ignored -> super.replaceSession(state, expected, ttl));
                }
            };
            SessionBuddyConfig config = SessionBuddyConfig.defaults().withOperationTimeout(Duration.ofMillis(500));
            SessionManager manager = new SessionManager(frozen, config, Clock.systemUTC());
            assertThat(manager.operationTimeout()).isEqualTo(Duration.ofMillis(500));
            String id = manager.createSession("u", "p", Map.of("n", 0), null).join();

            ExecutorService pool = Executors.newFixedThreadPool(16);
            List<Future<Long>> took = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int i = 0; i < 16; i++) {
                took.add(pool.submit(() -> {
                    long start = System.nanoTime();
                    try {
                        manager.updateSession(id, s -> s.toBuilder().metadata(Map.of("n",
                                s.metadata().get("n").asInt() + 1)).build()).join();
                    } catch (CompletionException e) {
                        failures.add(e.getCause());
                    }
                    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                }));
            }
            for (Future<Long> millis : took) {
                assertThat(millis.get(30, TimeUnit.SECONDS)).as("milliseconds one call took (bound 500)").isLessThan(3_000);
            }
            pool.shutdown();
            assertThat(failures).hasSize(16).allSatisfy(failure -> assertThat(failure)
                    .isInstanceOf(SessionOutcomeUnknownException.class)
                    .hasMessageContaining("operation_timeout_seconds"));

            thaw.complete(null);
            Thread.sleep(200); // the writes that were running when their callers gave up may land now
            int before = manager.getSession(id).join().orElseThrow().metadata().get("n").asInt();
            manager.updateSession(id, s -> s.toBuilder().metadata(Map.of("n",
                    s.metadata().get("n").asInt() + 1)).build()).join();
            assertThat(manager.getSession(id).join().orElseThrow().metadata().get("n").asInt()).isEqualTo(before + 1);
            // queued calls that ran out of time never ran: at most the one in flight landed
            assertThat(before).isLessThanOrEqualTo(1);
        }
    }

    @Test
    void theDefaultBoundIsTwiceTheStoragesCommandTimeout() {
        try (MemorySessionStorage memory = MemorySessionStorage.builder().build()) {
            ForwardingSessionStorage timed = new ForwardingSessionStorage(memory) {
                @Override
                public Duration timeout() {
                    return Duration.ofSeconds(3);
                }
            };
            assertThat(new SessionManager(timed).operationTimeout()).isEqualTo(Duration.ofSeconds(6));
            assertThat(new SessionManager(memory).operationTimeout())
                    .isEqualTo(SessionBuddyConfig.DEFAULT_OPERATION_TIMEOUT);
            assertThat(SessionStorageException.class).isAssignableFrom(SessionOutcomeUnknownException.class);
        }
    }
}
