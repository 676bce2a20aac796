package io.sessionbuddy.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.Consumer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.testkit.RecordingListener;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
            List<String> ids = RedisEventScenarios.runWriter(Integer.toString(server.port()), namespace, 20);

            RedisEventScenarios.await(() -> recording.events.size() >= 44, "44 events");
            Thread.sleep(300);
            RedisEventScenarios.assertWriterEvents(ids, recording.events);
            assertThat(streamLength(namespace)).isEqualTo(44);
            for (String id : ids) {
                assertThat(recording.events.stream().filter(e -> e.sessionId().equals(id)).findFirst().orElseThrow()
                        .streamId()).as("the stream entry id").matches("[0-9]+-[0-9]+");
            }
            assertThat(consumer.delivered()).isEqualTo(44);
        }
        // closed: every acknowledgement it sent was answered, nothing left pending
        RedisClient client = RedisClient.create(server.uri());
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            assertThat(connection.sync().xpending(RedisSessionStorage.eventStreamKey(namespace), "app").getCount())
                    .isZero();
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    @Test
    @Timeout(120)
    void aConsumerThatDiedLeavesItsEventsToTheGroupAndAFailingListenerGetsThemAgain() throws Exception {
        String namespace = "resume";
        try (RedisSessionStorage storage = RedisSessionStorage.builder().uri(server.uri()).namespace(namespace)
                .eventStream(true, 10_000).build()) {
            RedisEventScenarios.aDeadConsumersEventsAndAFailedOneReachTheGroup(new SessionManager(storage),
                    (name, listener) -> RedisSessionEventConsumer.start(server.uri(), namespace, "workers", name,
                            listener, Duration.ofMillis(300), false));
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
            RedisEventScenarios.expiredOnceWhateverTheNumberOfCleaners(first, second, recording);
            // the stream key <namespace>:events is this backend's own, not another layout's
            assertThat(first.otherLayouts().join()).isEmpty();
        }
    }

    @Test
    @Timeout(60)
    @SuppressWarnings("unchecked") // one stream offset
    void eventsPendingBehindAPageOfTrimmedOnesAreStillTakenOver() throws Exception {
        String namespace = "trimmed";
        String stream = RedisSessionStorage.eventStreamKey(namespace);
        RedisClient client = RedisClient.create(server.uri());
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            var redis = connection.sync();
            Map<String, String> event = Map.of("type", "created", "session", "0123456789abcdef0123456789abcdef",
                    "user", "u", "project", "p", "version", "1");
            for (int i = 0; i < 150; i++) {
                redis.xadd(stream, event);
            }
            redis.xgroupCreate(XReadArgs.StreamOffset.from(stream, "0"), "workers");
            // a consumer read 150 events and died; they were trimmed away before anyone took them over
            redis.xreadgroup(Consumer.from("workers", "dead"), XReadArgs.Builder.count(1000),
                    XReadArgs.StreamOffset.lastConsumed(stream));
            redis.xtrim(stream, 0);
            for (int i = 0; i < 5; i++) {
                redis.xadd(stream, event);
            }
            redis.xreadgroup(Consumer.from("workers", "dead"), XReadArgs.Builder.count(1000),
                    XReadArgs.StreamOffset.lastConsumed(stream));
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
        // the first page of its pending entries holds only trimmed ones: the claims go on past it
        RecordingListener recording = new RecordingListener();
        try (RedisSessionEventConsumer consumer = RedisSessionEventConsumer.start(server.uri(), namespace, "workers",
                "w-2", recording, Duration.ofMillis(100), false)) {
            RedisEventScenarios.await(() -> recording.events.size() >= 5, "the 5 live events of the dead consumer");
        }
    }

    @Test
    void theStreamsLengthMustBePositive() {
        assertThatThrownBy(() -> new RedisStorageProvider().create(BackendSettings.of("redis", Map.of(
                "port", server.port(), "event_stream", true, "event_stream_max_length", 0))))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("event_stream_max_length");
    }
}
