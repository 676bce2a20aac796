package io.sessionbuddy.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import io.sessionbuddy.core.SessionEvent;
import io.sessionbuddy.core.SessionListener;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.testkit.RecordingListener;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Cross-instance session events in Redis Cluster: one stream per slot, a bell, sweeps; on a real 3-master cluster. */
class RedisClusterEventStreamTest {
    /** Long enough that only a bell can bring an event in time. */
    private static final Duration NO_SWEEP = Duration.ofHours(1);
    private static RedisTestCluster cluster;
    private static RedisClusterClient client;
    private static StatefulRedisClusterConnection<String, String> raw;

    @BeforeAll
    static void start() {
        cluster = RedisTestCluster.start();
        client = RedisClusterClient.create(cluster.seeds());
        raw = client.connect();
    }

    @AfterAll
    static void stop() {
        raw.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        cluster.close();
    }

    private static RedisAdvancedClusterCommands<String, String> redis() {
        return raw.sync();
    }

    /** Waits for the consumer's first sweep: events written after it come by the bell alone. */
    private static RedisSessionEventConsumer swept(RedisSessionEventConsumer consumer) throws InterruptedException {
        RedisEventScenarios.await(consumer::caughtUp, "the first sweep");
        return consumer;
    }

    /** A consumer past its first sweep that sweeps no more: events written from now on come by the bell alone. */
    private static RedisSessionEventConsumer listening(String namespace, String group, String name,
            SessionListener listener) throws InterruptedException {
        return swept(RedisSessionEventConsumer.startCluster(cluster.seeds(), namespace, group, name, listener,
                Duration.ofSeconds(30), false, NO_SWEEP));
    }

    private static RedisSessionStorage storage(String namespace) {
        return RedisSessionStorage.builder().clusterNodes(cluster.seeds()).namespace(namespace)
                .eventStream(true, 10_000).build();
    }

    /** The slot streams holding events, with their lengths. */
    private static Map<Integer, Long> slotStreams(String namespace) {
        Map<Integer, Long> lengths = new java.util.TreeMap<>();
        for (int slot = 0; slot < SlotHash.SLOT_COUNT; slot++) {
            long n = redis().xlen(RedisSessionStorage.eventStreamKey(namespace, slot));
            if (n > 0) {
                lengths.put(slot, n);
            }
        }
        return lengths;
    }

    @Test
    @Timeout(60)
    void theSettingsTurnTheSlotStreamsOnInACluster() throws Exception {
        String namespace = "cl-settings";
        String nodes = cluster.seeds().stream().map(uri -> "127.0.0.1:" + uri.getPort())
                .collect(Collectors.joining(","));
        RecordingListener recording = new RecordingListener();
        try (SessionStorage storage = new RedisStorageProvider().create(BackendSettings.of("redis", Map.of(
                        "cluster_nodes", nodes, "namespace", namespace, "event_stream", true)));
                RedisSessionEventConsumer consumer = listening(namespace, "app", "app-1", recording)) {
            String id = new SessionManager(storage).createSession("u", "p").join();
            RedisEventScenarios.await(() -> !recording.events.isEmpty(), "the created event");
            assertThat(recording.events.peek().sessionId()).isEqualTo(id);
        }
    }

    @Test
    void eachSlotStreamKeepsItsShareOfTheMaximumLength() {
        String namespace = "cl-trim";
        try (RedisSessionStorage storage = RedisSessionStorage.builder().clusterNodes(cluster.seeds())
                .namespace(namespace).eventStream(true, 16_384).build()) {
            SessionManager manager = new SessionManager(storage);
            String id = manager.createSession("u", "p").join();
            for (int i = 0; i < 500; i++) {
                manager.updateSession(id, Map.of("metadata", Map.of("i", i)), null).join();
            }
            String stream = RedisSessionStorage.eventStreamKey(namespace, SlotHash.getSlot(namespace + ":{" + id + "}"));
            // 16,384 events in all: one per slot stream, and about 100 more that approximate trimming leaves
            assertThat(redis().xlen(stream)).isBetween(1L, 250L);
        }
    }

    @Test
    @Timeout(120)
    void aWriteWhileItsSlotMigratesWaitsForTheSlotStreamToFollowItsDataKey() throws Exception {
        String namespace = "cl-reshard";
        RecordingListener recording = new RecordingListener();
        try (RedisSessionStorage storage = storage(namespace);
                RedisSessionEventConsumer consumer = listening(namespace, "app", "app-1", recording)) {
            SessionManager manager = new SessionManager(storage);
            String id = manager.createSession("u", "p").join();
            String dataKey = namespace + ":{" + id + "}";
            int slot = SlotHash.getSlot(dataKey);
            RedisTestServer from = cluster.ownerOf(slot);
            RedisTestServer to = cluster.nodes().stream().filter(node -> node != from).findFirst().orElseThrow();
            String fromId = from.withCommands(c -> c.clusterMyId());
            String toId = to.withCommands(c -> c.clusterMyId());
            to.withCommands(c -> c.clusterSetSlotImporting(slot, fromId));
            from.withCommands(c -> c.clusterSetSlotMigrating(slot, toId));
            // halfway: the data key has moved, the slot's event stream not yet
            from.withCommands(c -> c.migrate("127.0.0.1", to.port(), dataKey, 0, 5_000));

            SessionState current = storage.retrieveSession(id).join().orElseThrow();
            CompletableFuture<Boolean> update = storage.replaceSession(current.toBuilder()
                    .putMetadata("during", "migration").version(current.version() + 1).build(), current.version(), null);
            Thread.sleep(300); // Redis answers TRYAGAIN meanwhile: the script's two keys are on two nodes
            assertThat(update).as("still waiting for the slot").isNotDone();
            // a storage whose timeout passes first says the write was not applied (not "outcome unknown")
            try (RedisSessionStorage impatient = RedisSessionStorage.builder().clusterNodes(cluster.seeds())
                    .namespace(namespace).eventStream(true, 10_000).timeout(Duration.ofSeconds(1)).build()) {
                assertThatThrownBy(() -> impatient.replaceSession(current, current.version(), null).join())
                        .hasCauseExactlyInstanceOf(SessionStorageException.class)
                        .hasMessageContaining("not applied").hasMessageContaining("TRYAGAIN");
            }
            // both keys on the target (still importing): the script runs there, by ASK
            from.withCommands(c -> c.migrate("127.0.0.1", to.port(), RedisSessionStorage.eventStreamKey(namespace,
                    slot), 0, 5_000));
            assertThat(update.get(10, TimeUnit.SECONDS)).isTrue();

            // the slot is handed over as redis-cli does it: the target takes it first, then the others
            // (the other order makes the two nodes send clients to each other until both know)
            to.withCommands(c -> c.clusterSetSlotNode(slot, toId));
            for (RedisTestServer node : cluster.nodes()) {
                node.withCommands(c -> c.clusterSetSlotNode(slot, toId));
            }
            SessionState second = storage.retrieveSession(id).join().orElseThrow();
            assertThat(storage.replaceSession(second.toBuilder().putMetadata("after", "handover")
                    .version(second.version() + 1).build(), second.version(), null).get(10, TimeUnit.SECONDS))
                    .as("a write after the move").isTrue();

            RedisEventScenarios.await(() -> recording.events.size() >= 3, "created and two updates");
            assertThat(recording.events).extracting(SessionEvent::type)
                    .containsExactly(SessionEvent.Type.CREATED, SessionEvent.Type.UPDATED, SessionEvent.Type.UPDATED);
            SessionState stored = storage.retrieveSession(id).join().orElseThrow();
            assertThat(stored.metadata().get("during").asText()).isEqualTo("migration");
            assertThat(stored.metadata().get("after").asText()).isEqualTo("handover");
        }
    }

    @Test
    void eachSlotStreamKeyIsInItsSlot() {
        for (int slot = 0; slot < SlotHash.SLOT_COUNT; slot++) {
            assertThat(SlotHash.getSlot(RedisSessionStorage.eventStreamKey("ns", slot))).isEqualTo(slot);
        }
    }

    @Test
    @Timeout(120)
    void eventsWrittenByAnotherProcessReachThisOneThroughTheSlotStreamsAndTheBell() throws Exception {
        String namespace = "cl-twoprocs";
        RecordingListener recording = new RecordingListener();
        try (RedisSessionEventConsumer consumer = listening(namespace, "app", "app-1", recording)) {
            String ports = cluster.seeds().stream().map(uri -> Integer.toString(uri.getPort()))
                    .collect(Collectors.joining(","));
            List<String> ids = RedisEventScenarios.runWriter("cluster:" + ports, namespace, 20);

            // no sweep after the first: these came because the writer rang the bell
            RedisEventScenarios.await(() -> recording.events.size() >= 44, "44 events");
            Thread.sleep(300);
            RedisEventScenarios.assertWriterEvents(ids, recording.events);
            Map<Integer, Long> streams = slotStreams(namespace);
            assertThat(streams.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(44);
            assertThat(streams).as("one stream per session's slot").hasSize(new HashSet<>(ids.stream()
                    .map(id -> SlotHash.getSlot(namespace + ":{" + id + "}")).toList()).size());
            for (String id : ids) {
                int slot = SlotHash.getSlot(namespace + ":{" + id + "}"); // the data key's
                assertThat(recording.events.stream().filter(e -> e.sessionId().equals(id)).findFirst().orElseThrow()
                        .streamId()).as("the slot and the entry id").matches(slot + ":[0-9]+-[0-9]+");
            }
            assertThat(consumer.delivered()).isEqualTo(44);
        }
        // closed: every acknowledgement it sent was answered, nothing left pending
        for (int slot : slotStreams(namespace).keySet()) {
            assertThat(redis().xpending(RedisSessionStorage.eventStreamKey(namespace, slot), "app").getCount())
                    .isZero();
        }
    }

    @Test
    @Timeout(120)
    void aRotationIsACreatedEventOfTheNewIdAndADeletedEventOfTheOld() throws Exception {
        String namespace = "cl-rotate";
        RecordingListener recording = new RecordingListener();
        try (RedisSessionStorage storage = storage(namespace);
                RedisSessionEventConsumer consumer = listening(namespace, "app", "app-1", recording)) {
            SessionManager manager = new SessionManager(storage);
            String old = manager.createSession("rot-user", "rot-project").join();
            String fresh = manager.rotateSessionId(old).join().orElseThrow();
            RedisEventScenarios.await(() -> recording.events.size() >= 3, "3 events");
            Thread.sleep(300);
            assertThat(recording.events).hasSize(3);
            List<SessionEvent> oldEvents = recording.events.stream().filter(e -> e.sessionId().equals(old)).toList();
            assertThat(oldEvents).extracting(SessionEvent::type)
                    .containsExactly(SessionEvent.Type.CREATED, SessionEvent.Type.DELETED);
            assertThat(oldEvents.get(1).userId()).as("the old owner, not the marker's").isEqualTo("rot-user");
            assertThat(oldEvents.get(1).projectId()).isEqualTo("rot-project");
            SessionEvent created = recording.events.stream().filter(e -> e.sessionId().equals(fresh)).findFirst()
                    .orElseThrow();
            assertThat(created.type()).isEqualTo(SessionEvent.Type.CREATED);
            assertThat(created.userId()).isEqualTo("rot-user");
            assertThat(storage.otherLayouts().join()).as("slot streams, bell and group mark are this backend's keys")
                    .isEmpty();
        }
    }

    @Test
    @Timeout(120)
    void anEventWhoseBellWasLostIsFoundByTheSweep() throws Exception {
        String namespace = "cl-lostbell";
        RecordingListener prompt = new RecordingListener();
        RecordingListener sweeping = new RecordingListener();
        try (RedisSessionEventConsumer bellOnly = listening(namespace, "bell-only", "b-1", prompt);
                RedisSessionEventConsumer sweeper = swept(RedisSessionEventConsumer.startCluster(cluster.seeds(),
                        namespace, "swept", "s-1", sweeping, Duration.ofSeconds(30), false, Duration.ofSeconds(1)))) {
            // a writer that died between its write (which appended the event) and the bell:
            // the event is in a slot stream no consumer has seen yet, and no bell names it
            int slot = 4242;
            redis().xadd(RedisSessionStorage.eventStreamKey(namespace, slot), Map.of("type", "created", "session",
                            "0123456789abcdef0123456789abcdef", "user", "u", "project", "p", "version", "1"));
            RedisEventScenarios.await(() -> !sweeping.events.isEmpty(), "the event, found by the sweep");
            SessionEvent event = sweeping.events.peek();
            assertThat(event.sessionId()).isEqualTo("0123456789abcdef0123456789abcdef");
            assertThat(event.streamId()).startsWith(slot + ":");
            Thread.sleep(1_000);
            assertThat(prompt.events).as("without a sweep and without the bell it waits").isEmpty();

            // the bell rings for the next write in that slot: the waiting consumer reads the slot then,
            // and gets the earlier event too (its stream is read from the group's start mark)
            redis().xadd(RedisSessionStorage.eventStreamKey(namespace, slot), Map.of("type", "deleted", "session",
                    "0123456789abcdef0123456789abcdef", "user", "u", "project", "p", "version", "-1"));
            redis().xadd(RedisSessionStorage.eventBellKey(namespace), Map.of("slot", Integer.toString(slot)));
            RedisEventScenarios.await(() -> prompt.events.size() >= 2, "both events, after the bell");
            assertThat(prompt.events).extracting(SessionEvent::type)
                    .containsExactly(SessionEvent.Type.CREATED, SessionEvent.Type.DELETED);
        }
    }

    @Test
    @Timeout(120)
    void aGroupStoppedWhileSessionsWereWrittenGetsEveryEventWhenStartedAgain() throws Exception {
        String namespace = "cl-resume";
        RecordingListener first = new RecordingListener();
        // the group's first consumer sets its start mark, then stops before any session exists
        RedisSessionEventConsumer.startCluster(cluster.seeds(), namespace, "workers", "w-1", first,
                Duration.ofSeconds(30), false, NO_SWEEP).close();
        Set<String> created = new HashSet<>();
        try (RedisSessionStorage storage = storage(namespace)) {
            SessionManager manager = new SessionManager(storage);
            for (int i = 0; i < 30; i++) {
                created.add(manager.createSession("u", "p").join());
            }
        }
        // slot streams created while no consumer ran: the group is created in each at its start mark
        RecordingListener again = new RecordingListener();
        try (RedisSessionEventConsumer consumer = RedisSessionEventConsumer.startCluster(cluster.seeds(), namespace,
                "workers", "w-1", again, Duration.ofSeconds(30), false, NO_SWEEP)) {
            RedisEventScenarios.await(() -> again.events.size() >= 30, "30 events");
            Set<String> seen = new HashSet<>();
            again.events.forEach(e -> seen.add(e.sessionId()));
            assertThat(seen).isEqualTo(created);
        }
        assertThat(first.events).isEmpty();
    }

    @Test
    @Timeout(120)
    void aConsumerThatDiedLeavesItsEventsToTheGroupAndAFailingListenerGetsThemAgain() throws Exception {
        String namespace = "cl-claim";
        try (RedisSessionStorage storage = storage(namespace)) {
            // past each consumer's first sweep, new events come by the bell
            RedisEventScenarios.aDeadConsumersEventsAndAFailedOneReachTheGroup(new SessionManager(storage),
                    (name, listener) -> swept(RedisSessionEventConsumer.startCluster(cluster.seeds(), namespace,
                            "workers", name, listener, Duration.ofMillis(300), false, NO_SWEEP)));
        }
    }

    @Test
    @Timeout(120)
    void aConsumerProcessKilledMidwayIsResumedUnderItsNameWithoutLosingAnEvent() throws Exception {
        String namespace = "cl-killed";
        String ports = cluster.seeds().stream().map(uri -> Integer.toString(uri.getPort()))
                .collect(Collectors.joining(","));
        Process child = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", System.getProperty("java.class.path"), RedisEventConsumerMain.class.getName(),
                "cluster:" + ports, namespace, "workers", "w-1").redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Set<String> seenByChild = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.concurrent.CountDownLatch ready = new java.util.concurrent.CountDownLatch(1);
        Thread reader = new Thread(() -> {
            try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(child.getInputStream(),
                    java.nio.charset.StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    if (line.equals("ready")) {
                        ready.countDown();
                    } else if (line.startsWith("event ")) {
                        seenByChild.add(line.substring(6));
                    }
                }
            } catch (java.io.IOException e) {
                // the child was killed
            }
        });
        reader.start();
        Set<String> created = new HashSet<>();
        try {
            assertThat(ready.await(60, TimeUnit.SECONDS)).as("the child consumer's first sweep").isTrue();
            try (RedisSessionStorage storage = storage(namespace)) {
                SessionManager manager = new SessionManager(storage);
                for (int i = 0; i < 30; i++) {
                    created.add(manager.createSession("u", "p").join());
                }
            }
            RedisEventScenarios.await(() -> seenByChild.size() >= 5, "the child's first events");
        } finally {
            child.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // mid-way: its read events unacknowledged
        }
        reader.join(5_000);
        assertThat(seenByChild.size()).as("killed before it got through them").isLessThan(30);

        // started again under its name (no claiming: its own pending events are read first)
        RecordingListener again = new RecordingListener();
        try (RedisSessionEventConsumer consumer = RedisSessionEventConsumer.startCluster(cluster.seeds(), namespace,
                "workers", "w-1", again, Duration.ofHours(1), false, NO_SWEEP)) {
            Set<String> missing = new HashSet<>(created);
            missing.removeAll(seenByChild);
            RedisEventScenarios.await(() -> again.events.stream().map(SessionEvent::sessionId).toList()
                    .containsAll(missing), "the " + missing.size() + " events the killed consumer had not delivered");
        }
        Set<String> all = new HashSet<>(seenByChild);
        again.events.forEach(e -> all.add(e.sessionId()));
        assertThat(all).as("every event delivered at least once").isEqualTo(created);
    }

    @Test
    @Timeout(60)
    void expiredSessionsFoundByCleanupAreAppendedOnceToTheUserIndexSlotsStream() throws Exception {
        String namespace = "cl-expiring";
        RecordingListener recording = new RecordingListener();
        try (RedisSessionStorage first = storage(namespace);
                RedisSessionStorage second = storage(namespace);
                RedisSessionEventConsumer consumer = listening(namespace, "ops", "ops-1", recording)) {
            SessionEvent expired = RedisEventScenarios.expiredOnceWhateverTheNumberOfCleaners(first, second, recording);
            int indexSlot = SlotHash.getSlot(namespace + ":idx:user:exp-user");
            assertThat(expired.streamId()).startsWith(indexSlot + ":");
        }
    }
}
