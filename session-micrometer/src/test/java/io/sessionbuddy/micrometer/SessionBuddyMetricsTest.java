package io.sessionbuddy.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.Guice;
import com.google.inject.Injector;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionConflictException;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.file.FileSessionStorage;
import io.sessionbuddy.guice.SessionBuddyModule;
import io.sessionbuddy.redis.RedisTestServer;
import io.sessionbuddy.spi.SessionBuddy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The metrics and spans of real stores: a real Redis server and the file backend on disk. */
class SessionBuddyMetricsTest {
    private static RedisTestServer redis;

    @TempDir
    Path directory;

    @BeforeAll
    static void start() {
        redis = RedisTestServer.start();
    }

    @AfterAll
    static void stop() {
        redis.close();
    }

    private static SessionBuddyConfig config(String json) {
        return new ConfigLoader(Map.of(), Map.of()).parse(json, "test.json");
    }

    private SessionBuddyConfig redisConfig(String namespace) {
        return config("""
                { "storage_backend": "redis", "backends": { "redis": { "host": "127.0.0.1", "port": %d,
                  "namespace": "%s" } } }""".formatted(redis.port(), namespace));
    }

    private SessionBuddyConfig fileConfig() {
        return config("""
                { "storage_backend": "file", "backends": { "file": { "directory": "%s" } } }"""
                .formatted(directory.toString().replace("\\", "\\\\")));
    }

    private static double count(MeterRegistry registry, String operation, String outcome) {
        Timer timer = registry.find(SessionBuddyMetrics.OPERATIONS).tag("operation", operation).tag("outcome", outcome)
                .timer();
        return timer == null ? 0 : timer.count();
    }

    private static double counter(MeterRegistry registry, String name, String... tags) {
        var counter = registry.find(name).tags(tags).counter();
        return counter == null ? 0 : counter.count();
    }

    /** The operations of one store, each outcome once at least, and what the tags may hold. */
    private static void exercise(SessionBuddy buddy, MeterRegistry registry, String backend) {
        SessionManager manager = buddy.manager();
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            ids.add(manager.createSession("user-" + i, "project-" + i, Map.of("n", i), null).join());
        }
        String id = ids.iterator().next();
        manager.getSession(id).join();
        manager.getSession("no-such-session").join();
        manager.updateSession(id, Map.of("metadata", Map.of("n", 99)), null).join();
        SessionState current = manager.getSession(id).join().orElseThrow();
        assertThat(buddy.storage().replaceSession(current, current.version() + 5, null).join()).isFalse();
        manager.listUserSessions("user-1").join();
        assertThat(manager.deleteSession("no-such-session").join()).isFalse();
        manager.deleteSession(id).join();
        manager.cleanupSessions().join();

        assertThat(count(registry, "store", "success")).isEqualTo(50);
        assertThat(count(registry, "retrieve", "success")).isGreaterThanOrEqualTo(2);
        assertThat(count(registry, "retrieve", "not_found")).isEqualTo(1);
        assertThat(count(registry, "replace", "success")).isEqualTo(1);
        assertThat(count(registry, "replace", "conflict")).isEqualTo(1);
        assertThat(count(registry, "update", "success")).isEqualTo(1);
        assertThat(count(registry, "delete", "success")).isEqualTo(1);
        assertThat(count(registry, "delete", "not_found")).isEqualTo(1);
        assertThat(count(registry, "list", "success")).isEqualTo(1);
        assertThat(count(registry, "cleanup", "success")).isEqualTo(1);
        assertThat(registry.find(SessionBuddyMetrics.UPDATE_ATTEMPTS).summary().count()).isEqualTo(1);
        assertThat(registry.find(SessionBuddyMetrics.RECORD_SIZE).summary().count()).as("50 stores, one update, one failed replace").isEqualTo(52);
        assertThat(registry.find(SessionBuddyMetrics.JSON_SIZE).summary().max())
                .isGreaterThanOrEqualTo(registry.find(SessionBuddyMetrics.RECORD_SIZE).summary().max() / 4);
        for (Meter meter : registry.getMeters()) {
            assertThat(meter.getId().getTag("backend")).isEqualTo(backend);
        }
        assertBoundedTags(registry, ids);
    }

    /** Tags never hold a session, user or project id: the number of meters does not grow with sessions. */
    private static void assertBoundedTags(MeterRegistry registry, Set<String> ids) {
        Set<String> keys = new HashSet<>();
        for (Meter meter : registry.getMeters()) {
            for (Tag tag : meter.getId().getTags()) {
                keys.add(tag.getKey());
                assertThat(ids).doesNotContain(tag.getValue());
                assertThat(tag.getValue()).doesNotStartWith("user-").doesNotStartWith("project-");
            }
        }
        assertThat(keys).isSubsetOf("backend", "operation", "outcome", "reason");
        assertThat(registry.getMeters()).hasSizeLessThan(40);
    }

    @Test
    void aRealRedisStoreIsTimedByOperationAndOutcome() {
        try (SessionBuddy buddy = SessionBuddy.open(redisConfig("metrics"))) {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            SessionBuddyMetrics.bind(buddy, registry);
            exercise(buddy, registry, "redis");
        }
    }

    @Test
    void aRedisNearCacheReportsItsEntriesHitsMissesAndInvalidations() {
        SessionBuddyConfig near = config("""
                { "storage_backend": "redis", "backends": { "redis": { "host": "127.0.0.1", "port": %d,
                  "namespace": "nearmetrics", "near_cache": { "maximum_size": 100 } } } }""".formatted(redis.port()));
        try (SessionBuddy buddy = SessionBuddy.open(near); SessionBuddy other = SessionBuddy.open(redisConfig("nearmetrics"))) {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            SessionBuddyMetrics.bind(buddy, registry);
            String id = other.manager().createSession("u", "p").join();
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (registry.find(SessionBuddyMetrics.NEAR_CACHE_REQUESTS).tag("result", "hit").functionCounter()
                    .count() == 0) {
                assertThat(buddy.manager().getSession(id).join()).isPresent();
                assertThat(System.nanoTime()).isLessThan(deadline);
            }
            assertThat(registry.find(SessionBuddyMetrics.NEAR_CACHE_REQUESTS).tag("result", "miss").functionCounter()
                    .count()).isPositive();
            assertThat(registry.find(SessionBuddyMetrics.NEAR_CACHE_ENTRIES).gauge().value()).isEqualTo(1);
            // the create's own invalidation may have arrived already: wait for the delete's
            double before = registry.find(SessionBuddyMetrics.NEAR_CACHE_INVALIDATIONS).functionCounter().count();
            other.manager().deleteSession(id).join();
            while (registry.find(SessionBuddyMetrics.NEAR_CACHE_INVALIDATIONS).functionCounter().count() <= before) {
                assertThat(System.nanoTime()).isLessThan(deadline);
                Thread.onSpinWait();
            }
            assertThat(registry.find(SessionBuddyMetrics.NEAR_CACHE_ENTRIES).gauge().value()).isZero();
            assertThat(buddy.manager().getSession(id).join()).isEmpty();
        }
    }

    @Test
    void theExpiryOfARotationsMarkerIsNotCountedAsAnExpiredSession() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        MicrometerSessionObserver observer = new MicrometerSessionObserver(registry,
                io.micrometer.observation.ObservationRegistry.NOOP, new SessionBuddyMetrics.Options(false, new double[0]));

        observer.sessionExpired("memory", "old-id", io.sessionbuddy.core.SessionManager.ROTATED_OWNER,
                io.sessionbuddy.core.SessionManager.ROTATED_OWNER);
        observer.sessionExpired("memory", "a-session", "alice", "apollo");

        assertThat(counter(registry, SessionBuddyMetrics.SESSIONS_EXPIRED)).isEqualTo(1);
    }

    @Test
    void theFileStoreIsTimedAndDamagedRecordsAreCountedByReason() throws Exception {
        try (SessionBuddy buddy = SessionBuddy.open(fileConfig())) {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            SessionBuddyMetrics metrics = SessionBuddyMetrics.bind(buddy, registry);
            exercise(buddy, registry, "file");

            String damaged = buddy.manager().createSession("u", "p").join();
            Path file = ((FileSessionStorage) buddy.storage()).directory().resolve(damaged + ".json");
            byte[] bytes = Files.readAllBytes(file);
            bytes[bytes.length - 1] ^= 0x55;
            Files.write(file, bytes);
            assertThatThrownBy(() -> buddy.manager().getSession(damaged).join())
                    .hasMessageContaining("checksum");
            assertThat(count(registry, "retrieve", "corrupt")).isEqualTo(1);
            assertThat(counter(registry, SessionBuddyMetrics.DAMAGED_RECORDS, "reason", "checksum_mismatch"))
                    .isEqualTo(1);

            metrics.unbind();
            buddy.manager().getSession(damaged).exceptionally(e -> null).join();
            assertThat(count(registry, "retrieve", "corrupt")).as("unbound: not recorded").isEqualTo(1);
        }
    }

    @Test
    void conflictsRetriesAndUpdatesThatGaveUpAreCounted() {
        SessionBuddyConfig config = config("""
                { "storage_backend": "file", "max_update_attempts": 3,
                  "backends": { "file": { "directory": "%s" } } }"""
                .formatted(directory.toString().replace("\\", "\\\\")));
        try (SessionBuddy buddy = SessionBuddy.open(config);
                FileSessionStorage other = FileSessionStorage.builder(directory).build()) {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            SessionBuddyMetrics.bind(buddy, registry);
            String id = buddy.manager().createSession("u", "p").join();
            AtomicInteger calls = new AtomicInteger();
            // another writer changes the session under the first attempt of each update
            SessionManager otherManager = new SessionManager(other);
            buddy.manager().updateSession(id, state -> {
                if (calls.incrementAndGet() == 1) {
                    otherManager.updateSession(id, Map.of("metadata", Map.of("other", 1)), null).join();
                }
                return state.toBuilder().putMetadata("mine", 1).build();
            }).join();
            assertThat(counter(registry, SessionBuddyMetrics.UPDATE_CONFLICTS)).isEqualTo(1);
            assertThat(registry.find(SessionBuddyMetrics.UPDATE_ATTEMPTS).summary().max()).isEqualTo(2);

            assertThatThrownBy(() -> buddy.manager().updateSession(id, state -> {
                otherManager.updateSession(id, Map.of("metadata", Map.of("other", calls.incrementAndGet())), null)
                        .join();
                return state.toBuilder().putMetadata("mine", 2).build();
            }).join()).hasCauseInstanceOf(SessionConflictException.class);
            assertThat(counter(registry, SessionBuddyMetrics.UPDATE_GAVE_UP)).isEqualTo(1);
            assertThat(counter(registry, SessionBuddyMetrics.UPDATE_CONFLICTS)).isEqualTo(4);
            assertThat(count(registry, "update", "conflict")).isEqualTo(1);
            assertThat(count(registry, "update", "success")).isEqualTo(1);
        }
    }

    @Test
    void cleanupExpiredSessionsAndTheMemoryGaugeAreReported() throws Exception {
        try (SessionBuddy buddy = SessionBuddy.open(config("{ \"storage_backend\": \"memory\" }"))) {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            SessionBuddyMetrics.bind(buddy, registry);
            for (int i = 0; i < 3; i++) {
                buddy.manager().createSession("u", "p", null, Duration.ofMillis(200)).join();
            }
            buddy.manager().createSession("u", "p").join();
            assertThat(registry.find(SessionBuddyMetrics.ENTRIES).gauge().value()).isEqualTo(4);
            Thread.sleep(400);
            assertThat(buddy.manager().cleanupSessions().join()).isEqualTo(3);
            assertThat(counter(registry, SessionBuddyMetrics.CLEANUP_REMOVED)).isEqualTo(3);
            assertThat(counter(registry, SessionBuddyMetrics.SESSIONS_EXPIRED)).isEqualTo(3);
            assertThat(registry.find(SessionBuddyMetrics.ENTRIES).gauge().value()).isEqualTo(1);
        }
    }

    @Test
    void operationsRunInObservationsWithBackendOperationAndOutcomeOnly() {
        try (SessionBuddy buddy = SessionBuddy.open(redisConfig("traced"))) {
            ObservationRegistry observations = ObservationRegistry.create();
            List<Observation.Context> started = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<Observation.Context> stopped = new java.util.concurrent.CopyOnWriteArrayList<>();
            observations.observationConfig().observationHandler(new ObservationHandler<>() {
                @Override
                public boolean supportsContext(Observation.Context context) {
                    return true;
                }

                @Override
                public void onStart(Observation.Context context) {
                    started.add(context);
                }

                @Override
                public void onStop(Observation.Context context) {
                    stopped.add(context);
                }
            });
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            SessionBuddyMetrics.of(buddy).observations(observations).percentiles(0.5, 0.99).bindTo(registry);
            String id = buddy.manager().createSession("secret-user", "secret-project").join();
            buddy.manager().getSession(id).join();
            buddy.manager().getSession("absent").join();

            assertThat(started).hasSize(3);
            assertThat(stopped).hasSize(3);
            Observation.Context absent = stopped.get(2);
            assertThat(absent.getName()).isEqualTo(SessionBuddyMetrics.OPERATIONS);
            assertThat(absent.getContextualName()).isEqualTo("session-buddy retrieve");
            assertThat(absent.getLowCardinalityKeyValue("backend").getValue()).isEqualTo("redis");
            assertThat(absent.getLowCardinalityKeyValue("operation").getValue()).isEqualTo("retrieve");
            assertThat(absent.getLowCardinalityKeyValue("outcome").getValue()).isEqualTo("not_found");
            assertThat(stopped.get(0).getLowCardinalityKeyValue("operation").getValue()).isEqualTo("store");
            for (Observation.Context context : stopped) {
                String all = context.getAllKeyValues().toString();
                assertThat(all).doesNotContain(id).doesNotContain("secret-user").doesNotContain("secret-project");
                assertThat(context.getHighCardinalityKeyValues()).isEmpty();
                assertThat(context.getError()).isNull();
            }
            assertThat(registry.find(SessionBuddyMetrics.OPERATIONS).tag("operation", "retrieve").timers()).hasSize(2);
        }
    }

    @Test
    void theGuiceModuleBindsMetricsWhenAMeterRegistryIsBound() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Injector injector = Guice.createInjector(new SessionBuddyModule(config("{ \"storage_backend\": \"memory\" }")),
                new SessionBuddyMetricsModule(), binder -> binder.bind(MeterRegistry.class).toInstance(registry));
        SessionBuddy buddy = injector.getInstance(SessionBuddy.class);
        try {
            SessionManager manager = injector.getInstance(SessionManager.class);
            manager.getSession(manager.createSession("u", "p").join()).join();
            assertThat(count(registry, "retrieve", "success")).isEqualTo(1);
            assertThat(count(registry, "store", "success")).isEqualTo(1);
        } finally {
            buddy.close();
        }
    }

    @Test
    void aStorageThatReportsToNoObserverIsRefusedClearly() {
        SessionStorage plain = io.sessionbuddy.memory.MemorySessionStorage.builder().build();
        SessionStorage wrapped = (SessionStorage) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {SessionStorage.class}, (proxy, method, args) -> method.isDefault()
                        ? java.lang.reflect.InvocationHandler.invokeDefault(proxy, method, args)
                        : method.invoke(plain, args));
        assertThatThrownBy(() -> SessionBuddyMetrics.of(wrapped, null).bindTo(new SimpleMeterRegistry()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("observers");
        assertThat(List.of(plain.addObserver(new io.sessionbuddy.core.SessionObserver() { }))).containsExactly(true);
        plain.close();
    }
}
