package io.sessionbuddy.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.spi.SessionBuddy;
import io.sessionbuddy.spi.StorageProvider;
import io.sessionbuddy.spi.StorageProviders;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MemoryStorageProviderTest {

    @Test
    void serviceLoaderFindsTheMemoryProvider() {
        assertThat(StorageProviders.discover()).extracting(StorageProvider::name).containsExactly("memory");
    }

    @Test
    void createWorksFromAPlainMap() {
        try (SessionStorage storage = new MemoryStorageProvider().create(
                BackendSettings.of("memory", Map.of("maximum_size", "10", "namespace", "n")))) {
            SessionState state = SessionState.builder("id1", "u", "p").build();
            storage.storeSession(state, null).join();
            assertThat(storage.retrieveSession("id1").join()).isPresent();
        }
    }

    @Test
    void aBadMaximumSizeNamesTheKey() {
        assertThatThrownBy(() -> new MemoryStorageProvider().create(BackendSettings.of("memory", Map.of("maximum_size", 0))))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("backends.memory.maximum_size");
    }

    @Test
    void anUnknownKeyInTheBackendBlockFailsAtStartUp() {
        SessionBuddyConfig config = new ConfigLoader(Map.of(), Map.of())
                .parse("{\"backends\": {\"memory\": {\"maximum_sise\": 5}}}", "app.json");

        assertThatThrownBy(() -> SessionBuddy.open(config)).isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("app.json").hasMessageContaining("backends.memory.maximum_sise");
    }

    @Test
    void theSeedsLegacyAcbMemoryConfigOpensTheMemoryBackend() {
        SessionBuddyConfig config = new ConfigLoader(Map.of(), Map.of()).parse("""
                { "storage_backend": "acb", "session_ttl_hours": 24, "cleanup_interval_hours": 6,
                  "backends": { "acb": { "cache_type": "memory", "namespace": "session", "ttl_seconds": 86400 },
                                "redis": { "host": "localhost", "port": 6379, "db": 0, "key_prefix": "session_mgmt:" },
                                "local": { "storage_dir": "/tmp/never-used" } } }
                """, "seed.json");

        try (SessionBuddy buddy = SessionBuddy.open(config)) {
            assertThat(buddy.storage()).isInstanceOf(MemorySessionStorage.class);
            assertThat(config.deprecations()).hasSize(1);
            String id = buddy.manager().createSession("u", "p").join();
            assertThat(buddy.manager().getSession(id).join()).isPresent();
        }
    }

    @Test
    void evictionPastTheMaximumSizeKeepsIndexesConsistent() {
        MemorySessionStorage storage = MemorySessionStorage.builder().maximumSize(10).build();
        try (storage) {
            for (int i = 0; i < 100; i++) {
                storage.storeSession(SessionState.builder("s" + i, "user", "proj").createdAt(Instant.EPOCH).build(), null)
                        .join();
            }
            storage.cleanupExpiredSessions().join();

            List<String> listed = storage.listSessions("user", null).join();
            assertThat(storage.estimatedSize()).isLessThanOrEqualTo(10);
            assertThat(listed).hasSizeLessThanOrEqualTo(10).isNotEmpty();
            for (String id : listed) {
                assertThat(storage.retrieveSession(id).join()).as(id).isPresent();
            }
        }
    }

    @Test
    void deprecationsAreInStatsTooNotOnlyInTheLog() {
        io.sessionbuddy.core.SessionBuddyConfig config = new io.sessionbuddy.core.config.ConfigLoader(Map.of(), Map.of())
                .parse("{\"storage_backend\": \"acb\", \"backends\": {\"acb\": {\"cache_type\": \"memory\"}}}",
                        "old.json");
        try (SessionBuddy buddy = SessionBuddy.open(config)) {
            Map<String, Object> stats = buddy.manager().stats().join();
            assertThat(stats.get("deprecations")).asList().singleElement().asString()
                    .contains("\"acb\" is deprecated");
        }
    }
}
