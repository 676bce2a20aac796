package io.sessionbuddy.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionPage;
import io.sessionbuddy.core.SessionState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Pages from the order sets beside the indexes: what a page reads, an index written without its
 * order set (an earlier version's), expired entries between live ones, and the order set kept equal
 * to its index by every write, delete, touch, move and cleanup, standalone and in Redis Cluster.
 */
class RedisPagingTest {
    private static final AtomicInteger NAMESPACES = new AtomicInteger();
    private static RedisTestServer server;
    private static RedisClient rawClient;
    private static StatefulRedisConnection<String, String> raw;

    @BeforeAll
    static void startServer() {
        server = RedisTestServer.start();
        rawClient = RedisClient.create(server.uri());
        raw = rawClient.connect();
    }

    @AfterAll
    static void stopServer() {
        raw.close();
        rawClient.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        server.close();
    }

    private static String namespace() {
        return "paging" + NAMESPACES.incrementAndGet();
    }

    private static RedisSessionStorage open(String namespace) {
        return RedisSessionStorage.builder().uri(server.uri()).namespace(namespace).build();
    }

    private static SessionState session(String id, String user, String project) {
        return SessionState.builder(id, user, project).createdAt(Instant.now()).build();
    }

    private static List<String> storeMany(RedisSessionStorage storage, String user, int count) {
        List<String> ids = new ArrayList<>();
        List<CompletableFuture<Boolean>> writes = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String id = String.format("s-%06d", i);
            ids.add(id);
            writes.add(storage.storeSession(session(id, user, "p"), null));
        }
        CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).join();
        return ids;
    }

    private static List<String> walk(RedisSessionStorage storage, String user, int limit) {
        return walk(storage, user, limit, new int[1]);
    }

    /** Every page of the user's sessions, {@code limit} a page; {@code pages[0]} counts the pages. */
    private static List<String> walk(RedisSessionStorage storage, String user, int limit, int[] pages) {
        List<String> walked = new ArrayList<>();
        String cursor = null;
        do {
            SessionPage page = storage.listSessions(user, null, cursor, limit).join();
            assertThat(page.ids()).hasSizeLessThanOrEqualTo(limit);
            walked.addAll(page.ids());
            cursor = page.nextCursor();
            pages[0]++;
        } while (cursor != null);
        return walked;
    }

    @Test
    void aPageReadsWhatItListsNotTheWholeIndex() {
        String namespace = namespace();
        try (RedisSessionStorage storage = open(namespace)) {
            List<String> ids = storeMany(storage, "big", 3_000);
            RedisCommands<String, String> commands = raw.sync();
            commands.configResetstat();

            SessionPage first = storage.listSessions("big", null, null, 10).join();

            Map<String, Long> calls = RedisTestServer.commandCalls(commands);
            assertThat(first.ids()).containsExactlyElementsOf(ids.subList(0, 10));
            assertThat(first.hasMore()).isTrue();
            // the index is never read whole (no ZRANGE, no ZRANGEBYSCORE): one ZRANGEBYLEX of 11
            // ids and a ZSCORE each, of the 3,000 entries
            assertThat(calls).doesNotContainKeys("zrange", "zrangebyscore");
            assertThat(calls.get("zrangebylex")).isEqualTo(1L);
            assertThat(calls.get("zscore")).isEqualTo(11L);
            // and each candidate's data checked inside that one script
            assertThat(calls.get("evalsha")).isEqualTo(1L);
            assertThat(calls.get("hmget")).isEqualTo(11L);

            assertThat(walk(storage, "big", 1_000)).containsExactlyElementsOf(ids);
        }
    }

    @Test
    void anIndexWithoutItsOrderSetIsPagedAfterItIsRebuiltFromTheIndex() {
        String namespace = namespace();
        try (RedisSessionStorage storage = open(namespace)) {
            List<String> ids = storeMany(storage, "older", 50);
            RedisCommands<String, String> commands = raw.sync();
            String index = namespace + ":idx:user:older";
            String orderSet = storage.orderSet(index);
            assertThat(orderSet).isEqualTo(namespace + ":idx:byid:user:older");
            assertThat(commands.zcard(orderSet)).isEqualTo(50L);
            // as an earlier version left it: the index alone, or an order set missing entries
            commands.del(orderSet);

            assertThat(walk(storage, "older", 7)).containsExactlyElementsOf(ids);
            assertThat(commands.zrange(orderSet, 0, -1)).containsExactlyElementsOf(ids);
            assertThat(commands.pttl(orderSet)).isPositive();

            commands.zrem(orderSet, ids.get(3), ids.get(40));
            assertThat(walk(storage, "older", 7)).containsExactlyElementsOf(ids);
        }
    }

    @Test
    void aPageRemovesEntriesOfGoneOrMovedSessionsAndSkipsDamagedOnesWithoutRemovingThem() {
        String namespace = namespace();
        try (RedisSessionStorage storage = open(namespace)) {
            for (String id : List.of("r1", "r2", "r3", "r4", "r{5}")) {
                storage.storeSession(session(id, "rep", "p"), null).join();
            }
            RedisCommands<String, String> commands = raw.sync();
            commands.del(namespace + ":{r1}"); // gone (as if Redis had expired it before a cleanup)
            commands.hset(namespace + ":{r2}", "u", "someone-else"); // moved to another user
            commands.del(namespace + ":{r3}");
            commands.set(namespace + ":{r3}", "not a hash"); // damaged
            String index = namespace + ":idx:user:rep";

            SessionPage page = storage.listSessions("rep", null, null, 10).join();

            assertThat(page.ids()).containsExactly("r4", "r{5}");
            assertThat(commands.zrange(index, 0, -1)).containsExactlyInAnyOrder("r3", "r4", "r{5}");
            assertThat(commands.zrange(storage.orderSet(index), 0, -1)).containsExactly("r3", "r4", "r{5}");
            assertThat(storage.listSessions("rep", "p", null, 10).join().ids()).containsExactly("r4", "r{5}");
            assertThat(storage.listSessions("rep", "other-project", null, 10).join().ids()).isEmpty();
            assertThat(storage.listSessions(null, "p", null, 10).join().ids()).containsExactly("r2", "r4", "r{5}");
        }
    }

    @Test
    void aSessionWhoseDataRedisAlreadyExpiredIsReportedOnceByThePageThatRemovesItsEntry() {
        String namespace = namespace();
        try (RedisSessionStorage storage = open(namespace)) {
            List<String> expired = java.util.Collections.synchronizedList(new ArrayList<>());
            storage.addObserver(new io.sessionbuddy.core.SessionObserver() {
                @Override
                public void sessionExpired(String backend, String sessionId, String userId, String projectId) {
                    expired.add(sessionId + "|" + userId);
                }
            });
            storage.storeSession(session("gone", "obs", "p"), null).join();
            storage.storeSession(session("kept", "obs", "p"), null).join();
            raw.sync().del(namespace + ":{gone}"); // Redis removed it at its TTL, before any cleanup

            assertThat(storage.listSessions("obs", null, null, 10).join().ids()).containsExactly("kept");
            assertThat(storage.listSessions("obs", null, null, 10).join().ids()).containsExactly("kept");
            assertThat(storage.listSessions("obs", null).join()).containsExactly("kept");

            assertThat(expired).containsExactly("gone|obs");
            assertThat(storage.cleanupExpiredSessions().join()).isZero();
        }
    }

    @Test
    void expiredEntriesBetweenLiveOnesAreSkippedAndTheWalkGoesOn() {
        String namespace = namespace();
        try (RedisSessionStorage storage = open(namespace)) {
            List<String> live = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                String id = "live-" + (char) ('a' + i);
                live.add(id);
                storage.storeSession(session(id, "gaps", "p"), null).join();
            }
            // 2,500 entries whose sessions expired (score in the past, data gone), between the
            // live ones in id order, more than one PAGE call reads
            RedisCommands<String, String> commands = raw.sync();
            String index = namespace + ":idx:user:gaps";
            String orderSet = storage.orderSet(index);
            for (int i = 0; i < 2_500; i++) {
                String id = "live-c" + String.format("%05d", i);
                commands.zadd(index, 1_000, id);
                commands.zadd(orderSet, 0, id);
            }

            int[] pages = {0};
            assertThat(walk(storage, "gaps", 5, pages)).containsExactlyElementsOf(live);
            assertThat(pages[0]).isEqualTo(3);
        }
    }

    @Test
    void theOrderSetHoldsWhatItsIndexHoldsAfterEveryKindOfWrite() throws Exception {
        String namespace = namespace();
        try (RedisSessionStorage storage = open(namespace)) {
            exerciseIndexes(storage);
            assertOrderSetsMatchIndexes(storage, raw.sync().keys(namespace + ":idx:*"), raw.sync()::zrange);
        }
    }

    @Test
    void inRedisClusterTheOrderSetSharesItsIndexsSlotAndFollowsIt() throws Exception {
        try (RedisTestCluster cluster = RedisTestCluster.start()) {
            RedisClusterClient client = RedisClusterClient.create(cluster.seeds());
            try (var connection = client.connect();
                    RedisSessionStorage storage = RedisSessionStorage.builder().clusterClient(client)
                            .namespace("clustered").build()) {
                for (String owner : List.of("alice", "tenant{7}", "{x}", "b}c{", "\u00e9\ud83d\ude00")) {
                    String index = "clustered:idx:user:" + owner;
                    String orderSet = storage.orderSet(index);
                    assertThat(orderSet).startsWith("clustered:idx:byid:{").endsWith("}user:" + owner);
                    assertThat(SlotHash.getSlot(orderSet)).isEqualTo(SlotHash.getSlot(index));
                }
                exerciseIndexes(storage);
                List<String> keys = new ArrayList<>();
                for (String prefix : List.of("clustered:idx:user:", "clustered:idx:project:")) {
                    for (String owner : List.of("u1", "u2", "p1", "p2", "tenant{7}")) {
                        keys.add(prefix + owner);
                    }
                }
                assertOrderSetsMatchIndexes(storage, keys, connection.sync()::zrange);

                List<String> ids = new ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    ids.add("c-" + String.format("%03d", i));
                    storage.storeSession(session(ids.get(i), "tenant{7}", "p1"), null).join();
                }
                assertThat(walk(storage, "tenant{7}", 6)).containsExactlyElementsOf(ids);
            } finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            }
        }
    }

    /** Stores, changes owners, deletes, touches, rotates and cleans up, over two users and two projects. */
    private static void exerciseIndexes(RedisSessionStorage storage) throws InterruptedException {
        for (int i = 0; i < 20; i++) {
            storage.storeSession(session("e-" + i, i % 2 == 0 ? "u1" : "u2", i % 3 == 0 ? "p1" : "p2"), null).join();
        }
        SessionState moved = storage.retrieveSession("e-4").join().orElseThrow();
        assertThat(storage.replaceSession(moved.toBuilder().userId("u2").projectId("p2").version(moved.version() + 1)
                .build(), moved.version(), null).join()).isTrue();
        storage.deleteSession("e-5").join();
        storage.deleteSession("e-6").join();
        storage.touchSession("e-7", Duration.ofHours(2)).join();
        SessionManager manager = new SessionManager(storage, SessionBuddyConfig.defaults(), Clock.systemUTC());
        manager.rotateSessionId("e-8").join();
        storage.storeSession(session("short-lived", "u1", "p1"), Duration.ofMillis(50)).join();
        Thread.sleep(150);
        assertThat(storage.cleanupExpiredSessions().join()).isEqualTo(1);
    }

    private static void assertOrderSetsMatchIndexes(RedisSessionStorage storage, Iterable<String> keys,
            ZRange zrange) {
        int compared = 0;
        for (String key : keys) {
            if (key.contains(":idx:byid:")) {
                continue;
            }
            List<String> entries = zrange.of(key, 0, -1);
            List<String> ordered = zrange.of(storage.orderSet(key), 0, -1);
            assertThat(ordered).as("order set of %s", key).containsExactlyInAnyOrderElementsOf(entries);
            compared++;
        }
        assertThat(compared).isGreaterThanOrEqualTo(4);
    }

    @FunctionalInterface
    private interface ZRange {
        List<String> of(String key, long start, long stop);
    }
}
