package io.sessionbuddy.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisURI;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.spi.NearCacheStats;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The near cache against a real redis-server: two storages stand for two instances of an
 * application, each with its own client and connection.
 */
class RedisNearCacheTest {
    private static final AtomicInteger NAMESPACES = new AtomicInteger();
    private static RedisTestServer server;

    @BeforeAll
    static void startServer() {
        server = RedisTestServer.start();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private static String namespace() {
        return "near" + NAMESPACES.incrementAndGet();
    }

    private static RedisSessionStorage open(RedisURI uri, String namespace, long size) {
        RedisSessionStorage storage = RedisSessionStorage.builder().uri(uri).namespace(namespace)
                .nearCache(size, Duration.ofMinutes(1)).build();
        await(() -> storage.nearCacheStats().orElseThrow().active(), "tracking acknowledged");
        return storage;
    }

    private static SessionState session(String id) {
        return SessionState.builder(id, "alice", "apollo").createdAt(Instant.parse("2026-01-01T00:00:00Z"))
                .metadata(Map.of("count", 0)).build();
    }

    private static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.onSpinWait();
        }
    }

    /**
     * Stores through {@code writer} and waits for {@code reader}'s invalidation of it: a read by
     * {@code reader} that began before the invalidation arrived is (rightly) not cached.
     */
    private static void storeSeenBy(RedisSessionStorage writer, SessionState state, RedisSessionStorage reader) {
        long before = reader.nearCacheStats().orElseThrow().invalidations();
        writer.storeSession(state, null).join();
        await(() -> reader.nearCacheStats().orElseThrow().invalidations() > before, "the write's invalidation");
    }

    @Test
    @Timeout(60)
    void readsAreServedFromTheNearCacheUntilAnotherInstanceChangesTheSession() {
        String ns = namespace();
        try (RedisSessionStorage a = open(server.uri(), ns, 100); RedisSessionStorage b = open(server.uri(), ns, 100)) {
            storeSeenBy(a, session("s1"), b);
            assertThat(b.retrieveSession("s1").join()).isPresent(); // a miss: read from Redis, kept
            NearCacheStats before = b.nearCacheStats().orElseThrow();
            assertThat(before.misses()).isEqualTo(1);
            for (int i = 0; i < 5; i++) {
                assertThat(b.retrieveSession("s1").join().orElseThrow().version()).isEqualTo(1);
            }
            assertThat(b.nearCacheStats().orElseThrow().hits()).isEqualTo(before.hits() + 5);
            assertThat(b.nearCacheStats().orElseThrow().entries()).isEqualTo(1);

            SessionState changed = session("s1").toBuilder().version(2).metadata(Map.of("count", 1)).build();
            assertThat(a.replaceSession(changed, 1, null).join()).isTrue();
            await(() -> b.nearCacheStats().orElseThrow().invalidations() > before.invalidations(), "invalidation");
            SessionState seen = b.retrieveSession("s1").join().orElseThrow();
            assertThat(seen.version()).isEqualTo(2);
            assertThat(seen.metadata().get("count").asInt()).isEqualTo(1);

            assertThat(a.deleteSession("s1").join()).isTrue();
            await(() -> b.retrieveSession("s1").join().isEmpty(), "the delete seen by the other instance");
        }
    }

    @Test
    @Timeout(60)
    void anotherInstancesTouchAndRotationReachTheNearCache() {
        String ns = namespace();
        try (RedisSessionStorage a = open(server.uri(), ns, 100); RedisSessionStorage b = open(server.uri(), ns, 100)) {
            storeSeenBy(a, session("t1"), b);
            Instant first = b.retrieveSession("t1").join().orElseThrow().expiresAt();
            assertThat(b.retrieveSession("t1").join()).isPresent();
            assertThat(b.nearCacheStats().orElseThrow().hits()).isPositive();

            assertThat(a.touchSession("t1", Duration.ofDays(3)).join()).isTrue();
            await(() -> b.retrieveSession("t1").join().orElseThrow().expiresAt().isAfter(first.plus(Duration.ofDays(1))),
                    "the touched expiry seen by the other instance");

            SessionManager rotating = new SessionManager(a);
            SessionManager reading = new SessionManager(b);
            assertThat(reading.getSession("t1").join()).isPresent();
            String moved = rotating.rotateSessionId("t1").join().orElseThrow();
            await(() -> reading.getSession("t1").join().isEmpty(), "the rotated-away id absent on the other instance");
            assertThat(reading.getSession(moved).join()).isPresent();
        }
    }

    @Test
    @Timeout(60)
    void anAbsentSessionIsCachedAsAbsentUntilItIsCreatedAnywhere() {
        String ns = namespace();
        try (RedisSessionStorage a = open(server.uri(), ns, 100); RedisSessionStorage b = open(server.uri(), ns, 100)) {
            assertThat(b.retrieveSession("later").join()).isEmpty();
            assertThat(b.retrieveSession("later").join()).isEmpty();
            assertThat(b.nearCacheStats().orElseThrow().hits()).isEqualTo(1);
            a.storeSession(session("later"), null).join();
            await(() -> b.retrieveSession("later").join().isPresent(), "the new session seen by the other instance");
        }
    }

    @Test
    @Timeout(120)
    void concurrentUpdatesThroughTwoNearCachedInstancesAreNeverLost() throws Exception {
        String ns = namespace();
        try (RedisSessionStorage a = open(server.uri(), ns, 100); RedisSessionStorage b = open(server.uri(), ns, 100)) {
            a.storeSession(session("counter"), null).join();
            SessionManager[] managers = {new SessionManager(a), new SessionManager(b)};
            int perThread = 150;
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> runs = new ArrayList<>();
                CountDownLatch start = new CountDownLatch(1);
                for (int t = 0; t < 4; t++) {
                    SessionManager manager = managers[t % 2];
                    runs.add(pool.submit(() -> {
                        start.await();
                        for (int i = 0; i < perThread; i++) {
                            manager.updateSession("counter", s -> s.toBuilder().metadata(Map.of("count",
                                    s.metadata().get("count").asInt() + 1)).build()).join();
                            manager.getSession("counter").join(); // reads in between fill the near caches
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> run : runs) {
                    run.get();
                }
            } finally {
                pool.shutdownNow();
            }
            int expected = 4 * perThread;
            await(() -> b.retrieveSession("counter").join().orElseThrow().metadata().get("count").asInt() == expected
                    && a.retrieveSession("counter").join().orElseThrow().metadata().get("count").asInt() == expected,
                    "both instances see every update");
            assertThat(a.nearCacheStats().orElseThrow().hits() + b.nearCacheStats().orElseThrow().hits()).isPositive();
        }
    }

    @Test
    @Timeout(60)
    void afterALostConnectionNothingCachedBeforeItIsServed() throws Exception {
        String ns = namespace();
        try (ReplyDroppingProxy proxy = new ReplyDroppingProxy(server.port());
                RedisSessionStorage a = open(server.uri(), ns, 100);
                RedisSessionStorage b = open(RedisURI.builder().withHost("127.0.0.1").withPort(proxy.port())
                        .withTimeout(Duration.ofSeconds(5)).build(), ns, 100)) {
            storeSeenBy(a, session("s"), b);
            assertThat(b.retrieveSession("s").join().orElseThrow().version()).isEqualTo(1);
            assertThat(b.retrieveSession("s").join()).isPresent();
            assertThat(b.nearCacheStats().orElseThrow().hits()).isEqualTo(1);

            proxy.cut(); // b's connection is lost and cannot come back yet
            await(() -> !b.nearCacheStats().orElseThrow().active(), "the lost connection noticed");
            SessionState changed = session("s").toBuilder().version(2).build();
            assertThat(a.replaceSession(changed, 1, null).join()).isTrue(); // b misses this invalidation
            proxy.resume();

            assertThat(b.retrieveSession("s").join().orElseThrow().version()).isEqualTo(2);
            await(() -> b.nearCacheStats().orElseThrow().active(), "tracking on again");
            assertThat(b.retrieveSession("s").join().orElseThrow().version()).isEqualTo(2);
            assertThat(b.nearCacheStats().orElseThrow().flushes()).isPositive();
        }
    }

    @Test
    @Timeout(60)
    void theCacheHoldsAtMostItsMaximumSize() {
        String ns = namespace();
        try (RedisSessionStorage a = open(server.uri(), ns, 3)) {
            for (int i = 0; i < 20; i++) {
                a.storeSession(session("s" + i), null).join();
                a.retrieveSession("s" + i).join();
            }
            await(() -> a.nearCacheStats().orElseThrow().entries() <= 3, "eviction to the maximum size");
            for (int i = 0; i < 20; i++) {
                assertThat(a.retrieveSession("s" + i).join()).isPresent();
            }
        }
    }

    @Test
    void withoutTheSettingThereIsNoNearCache() {
        try (RedisSessionStorage plain = RedisSessionStorage.builder().uri(server.uri()).namespace(namespace()).build()) {
            assertThat(plain.nearCacheStats()).isEmpty();
        }
    }

    @Test
    @Timeout(60)
    void theProviderReadsTheNearCacheBlock() {
        String ns = namespace();
        try (SessionStorage storage = open(Map.of("namespace", ns, "near_cache",
                Map.of("enabled", true, "maximum_size", 50, "maximum_age", "30s")))) {
            RedisSessionStorage redis = (RedisSessionStorage) storage;
            await(() -> redis.nearCacheStats().orElseThrow().active(), "tracking acknowledged");
            redis.storeSession(session("p"), null).join();
            // the first read after the storage's own write may be left uncached: Redis 6.2 reports a
            // script's write to its own connection too, and a read in flight then is not kept
            await(() -> redis.retrieveSession("p").join().isPresent() && redis.nearCacheStats().orElseThrow().hits() > 0,
                    "a read served from the near cache");
        }
        try (SessionStorage storage = open(Map.of("namespace", ns, "near_cache", "true"))) {
            assertThat(((RedisSessionStorage) storage).nearCacheStats()).isPresent();
        }
        try (SessionStorage storage = open(Map.of("namespace", ns, "near_cache", Map.of("enabled", false)))) {
            assertThat(((RedisSessionStorage) storage).nearCacheStats()).isEmpty();
        }
        assertThatThrownBy(() -> open(Map.of("near_cache", Map.of("maximum_sise", 5))))
                .isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("backends.redis.near_cache.maximum_sise").hasMessageContaining("unknown key");
        assertThatThrownBy(() -> open(Map.of("near_cache", Map.of("maximum_size", 0))))
                .isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("backends.redis.near_cache.maximum_size").hasMessageContaining("positive");
        assertThatThrownBy(() -> open(Map.of("near_cache", 17)))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("backends.redis.near_cache");
        assertThatThrownBy(() -> open(Map.of("cluster", true, "near_cache", true)))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("backends.redis.near_cache")
                .hasMessageContaining("standalone and Sentinel");
    }

    private static SessionStorage open(Map<String, Object> extra) {
        Map<String, Object> settings = new HashMap<>(Map.of("host", "127.0.0.1", "port", server.port()));
        settings.putAll(extra);
        return new RedisStorageProvider().create(BackendSettings.of("redis", settings));
    }

    @Test
    void theBuilderRefusesTheNearCacheInACluster() {
        assertThatThrownBy(() -> RedisSessionStorage.builder()
                .clusterNodes(List.of(RedisURI.create("redis://127.0.0.1:1"))).nearCache(10, Duration.ofSeconds(1))
                .build()).hasMessageContaining("standalone and Sentinel");
    }

    @Test
    @Timeout(60)
    void aReturnedSessionCannotBeChangedThroughTheCache() {
        String ns = namespace();
        try (RedisSessionStorage a = open(server.uri(), ns, 10)) {
            a.storeSession(session("frozen"), null).join();
            a.retrieveSession("frozen").join();
            SessionState cached = a.retrieveSession("frozen").join().orElseThrow();
            assertThatThrownBy(() -> ((com.fasterxml.jackson.databind.node.ObjectNode) cached.metadata())
                    .put("count", 99)).isInstanceOf(UnsupportedOperationException.class);
            Optional<SessionState> again = a.retrieveSession("frozen").join();
            assertThat(again.orElseThrow().metadata().get("count").asInt()).isZero();
        }
    }
}
