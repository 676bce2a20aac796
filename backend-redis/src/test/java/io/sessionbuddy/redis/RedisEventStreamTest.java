package io.sessionbuddy.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionEvent;
import io.sessionbuddy.core.SessionListener;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.testkit.RecordingListener;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Cross-instance session events through the Redis event stream, on a real Redis. */
class RedisEventStreamTest {
    private static RedisTestServer server;

    @BeforeAll
    static void start() {
        server = RedisTestServer.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static void await(BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    private static long streamLength(String namespace) {
        RedisClient client = RedisClient.create(server.uri());
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            return connection.sync().xlen(RedisSessionStorage.eventStreamKey(namespace));
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    @Test
    @Timeout(120)
    void eventsWrittenByAnotherProcessReachThisOneWithEachWritesFacts() throws Exception {
        String namespace = "twoprocs";
        RecordingListener recording = new RecordingListener();
        try (RedisSessionEventConsumer consumer = RedisSessionEventConsumer.start(server.uri(), namespace, "app",
                "app-1", recording)) {
            Process writer = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), RedisEventWriterMain.class.getName(),
                    Integer.toString(server.port()), namespace, "20").redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            List<String> ids = new ArrayList<>();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(writer.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    if (line.matches("[0-9a-f]{32}")) {
                        ids.add(line);
                    }
                }
            }
            assertThat(writer.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(writer.exitValue()).isZero();
            assertThat(ids).hasSize(20);

            await(() -> recording.events.size() >= 44, "44 events");
            Thread.sleep(300);
            assertThat(recording.events).hasSize(44); // 20 created, 20 updated, 4 deleted; none for the failed CAS
            assertThat(streamLength(namespace)).isEqualTo(44);
            for (int i = 0; i < ids.size(); i++) {
                String id = ids.get(i);
                List<SessionEvent> mine = recording.events.stream().filter(e -> e.sessionId().equals(id)).toList();
                List<SessionEvent.Type> types = mine.stream().map(SessionEvent::type).toList();
                assertThat(types).as(id).containsExactlyElementsOf(i < 4
                        ? List.of(SessionEvent.Type.CREATED, SessionEvent.Type.UPDATED, SessionEvent.Type.DELETED)
                        : List.of(SessionEvent.Type.CREATED, SessionEvent.Type.UPDATED));
                assertThat(mine.get(0).userId()).isEqualTo("writer-user-" + (i % 3));
                assertThat(mine.get(0).projectId()).isEqualTo("writer-project");
                assertThat(mine.get(0).version()).isEqualTo(1);
                assertThat(mine.get(1).version()).isEqualTo(2);
                assertThat(mine.get(0).streamId()).isNotNull().isNotEqualTo(mine.get(1).streamId());
                assertThat(mine.get(0).backend()).isEqualTo("redis");
            }
            assertThat(consumer.delivered()).isEqualTo(44);
        }
    }

    @Test
    @Timeout(120)
    void aConsumerThatDiedLeavesItsEventsToTheGroupAndAFailingListenerGetsThemAgain() throws Exception {
        String namespace = "resume";
        try (RedisSessionStorage storage = RedisSessionStorage.builder().uri(server.uri()).namespace(namespace)
                .eventStream(true, 10_000).build()) {
            SessionManager manager = new SessionManager(storage);
            // a consumer that hangs in its listener on the first event: as good as dead, its batch unacknowledged
            CountDownLatch hang = new CountDownLatch(1);
            RedisSessionEventConsumer dead = RedisSessionEventConsumer.start(server.uri(), namespace, "workers", "w-dead",
                    new SessionListener() {
                        @Override
                        public void sessionCreated(SessionEvent event) {
                            try {
                                hang.await();
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                            throw new IllegalStateException("died");
                        }
                    }, Duration.ofMillis(300), false);
            Set<String> created = ConcurrentHashMap.newKeySet();
            for (int i = 0; i < 10; i++) {
                created.add(manager.createSession("u", "p").join());
            }
            Thread.sleep(500); // the dead consumer has read (and holds) its batch

            // a second worker of the group takes the events over; its listener fails once on one of them
            RecordingListener survivor = new RecordingListener();
            Set<String> failedOnce = ConcurrentHashMap.newKeySet();
            SessionListener flaky = new SessionListener() {
                @Override
                public void sessionCreated(SessionEvent event) {
                    if (failedOnce.isEmpty() && failedOnce.add(event.sessionId())) {
                        throw new IllegalStateException("the listener's own bug, once");
                    }
                    survivor.sessionCreated(event);
                }
            };
            RedisSessionEventConsumer second = RedisSessionEventConsumer.start(server.uri(), namespace, "workers",
                    "w-2", flaky, Duration.ofMillis(300), false);
            await(() -> survivor.events.size() >= 9, "9 events taken over from the dead consumer");
            second.close();
            // started again under its name, the worker reads its pending event (the one its listener failed on)
            RedisSessionEventConsumer again = RedisSessionEventConsumer.start(server.uri(), namespace, "workers", "w-2",
                    flaky, Duration.ofMillis(300), false);
            await(() -> survivor.events.size() >= 10, "the failed event again");
            Set<String> seen = ConcurrentHashMap.newKeySet();
            survivor.events.forEach(e -> seen.add(e.sessionId()));
            assertThat(seen).as("no event lost").isEqualTo(created);
            again.close();
            hang.countDown();
            dead.close();
        }
    }

    @Test
    @Timeout(60)
    void expiredSessionsFoundByCleanupAreAppendedOnceWhateverTheNumberOfCleaners() throws Exception {
        String namespace = "expiring";
        RecordingListener recording = new RecordingListener();
        try (RedisSessionStorage first = RedisSessionStorage.builder().uri(server.uri()).namespace(namespace)
                        .eventStream(true, 10_000).build();
                RedisSessionStorage second = RedisSessionStorage.builder().uri(server.uri()).namespace(namespace)
                        .eventStream(true, 10_000).build();
                RedisSessionEventConsumer consumer = RedisSessionEventConsumer.start(server.uri(), namespace, "ops",
                        "ops-1", recording)) {
            String shortLived = new SessionManager(first).createSession("exp-user", "p", null, Duration.ofMillis(300))
                    .join();
            Thread.sleep(800);
            // two instances clean up at once: the session is reported by exactly one of them
            var a = first.cleanupExpiredSessions();
            var b = second.cleanupExpiredSessions();
            assertThat(a.join() + b.join()).isEqualTo(1);
            await(() -> recording.events.size() >= 2, "created and expired");
            Thread.sleep(300);
            assertThat(recording.events).extracting(SessionEvent::type)
                    .containsExactly(SessionEvent.Type.CREATED, SessionEvent.Type.EXPIRED);
            SessionEvent expired = List.copyOf(recording.events).get(1);
            assertThat(expired.sessionId()).isEqualTo(shortLived);
            assertThat(expired.userId()).isEqualTo("exp-user");
            // the stream key <namespace>:events is this backend's own, not another layout's
            assertThat(first.otherLayouts().join()).isEmpty();
        }
    }

    @Test
    void theStreamIsForStandaloneRedisOnly() {
        assertThatThrownBy(() -> new RedisStorageProvider().create(BackendSettings.of("redis", Map.of(
                "cluster_nodes", List.of("127.0.0.1:" + server.port()), "event_stream", true))))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("event_stream")
                .hasMessageContaining("Cluster");
        assertThatThrownBy(() -> new RedisStorageProvider().create(BackendSettings.of("redis", Map.of(
                "port", server.port(), "event_stream", true, "event_stream_max_length", 0))))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("event_stream_max_length");
    }
}
